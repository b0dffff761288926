"use strict";
(() => {
  // node_modules/openapi-fetch/dist/index.mjs
  var PATH_PARAM_RE = /\{[^{}]+\}/g;
  var supportsRequestInitExt = () => {
    return typeof process === "object" && Number.parseInt(process?.versions?.node?.substring(0, 2)) >= 18 && process.versions.undici;
  };
  function randomID() {
    return Math.random().toString(36).slice(2, 11);
  }
  function createClient(clientOptions) {
    let {
      baseUrl = "",
      Request: CustomRequest = globalThis.Request,
      fetch: baseFetch = globalThis.fetch,
      querySerializer: globalQuerySerializer,
      bodySerializer: globalBodySerializer,
      pathSerializer: globalPathSerializer,
      headers: baseHeaders,
      requestInitExt = void 0,
      ...baseOptions
    } = { ...clientOptions };
    requestInitExt = supportsRequestInitExt() ? requestInitExt : void 0;
    baseUrl = removeTrailingSlash(baseUrl);
    const globalMiddlewares = [];
    async function coreFetch(schemaPath, fetchOptions) {
      const {
        baseUrl: localBaseUrl,
        fetch = baseFetch,
        Request = CustomRequest,
        headers,
        params = {},
        parseAs = "json",
        querySerializer: requestQuerySerializer,
        bodySerializer = globalBodySerializer ?? defaultBodySerializer,
        pathSerializer: requestPathSerializer,
        body,
        middleware: requestMiddlewares = [],
        ...init
      } = fetchOptions || {};
      let finalBaseUrl = baseUrl;
      if (localBaseUrl) {
        finalBaseUrl = removeTrailingSlash(localBaseUrl) ?? baseUrl;
      }
      let querySerializer = typeof globalQuerySerializer === "function" ? globalQuerySerializer : createQuerySerializer(globalQuerySerializer);
      if (requestQuerySerializer) {
        querySerializer = typeof requestQuerySerializer === "function" ? requestQuerySerializer : createQuerySerializer({
          ...typeof globalQuerySerializer === "object" ? globalQuerySerializer : {},
          ...requestQuerySerializer
        });
      }
      const pathSerializer = requestPathSerializer || globalPathSerializer || defaultPathSerializer;
      const serializedBody = body === void 0 ? void 0 : bodySerializer(
        body,
        // Note: we declare mergeHeaders() both here and below because it’s a bit of a chicken-or-egg situation:
        // bodySerializer() needs all headers so we aren’t dropping ones set by the user, however,
        // the result of this ALSO sets the lowest-priority content-type header. So we re-merge below,
        // setting the content-type at the very beginning to be overwritten.
        // Lastly, based on the way headers work, it’s not a simple “present-or-not” check becauase null intentionally un-sets headers.
        mergeHeaders(baseHeaders, headers, params.header)
      );
      const finalHeaders = mergeHeaders(
        // with no body, we should not to set Content-Type
        serializedBody === void 0 || // if serialized body is FormData; browser will correctly set Content-Type & boundary expression
        serializedBody instanceof FormData ? {} : {
          "Content-Type": "application/json"
        },
        baseHeaders,
        headers,
        params.header
      );
      const finalMiddlewares = [...globalMiddlewares, ...requestMiddlewares];
      const requestInit = {
        redirect: "follow",
        ...baseOptions,
        ...init,
        body: serializedBody,
        headers: finalHeaders
      };
      let id;
      let options;
      let request = new Request(
        createFinalURL(schemaPath, { baseUrl: finalBaseUrl, params, querySerializer, pathSerializer }),
        requestInit
      );
      let response;
      for (const key in init) {
        if (!(key in request)) {
          request[key] = init[key];
        }
      }
      if (finalMiddlewares.length) {
        id = randomID();
        options = Object.freeze({
          baseUrl: finalBaseUrl,
          fetch,
          parseAs,
          querySerializer,
          bodySerializer,
          pathSerializer
        });
        for (const m of finalMiddlewares) {
          if (m && typeof m === "object" && typeof m.onRequest === "function") {
            const result = await m.onRequest({
              request,
              schemaPath,
              params,
              options,
              id
            });
            if (result) {
              if (result instanceof Request) {
                request = result;
              } else if (result instanceof Response) {
                response = result;
                break;
              } else {
                throw new Error("onRequest: must return new Request() or Response() when modifying the request");
              }
            }
          }
        }
      }
      if (!response) {
        try {
          response = await fetch(request, requestInitExt);
        } catch (error2) {
          let errorAfterMiddleware = error2;
          if (finalMiddlewares.length) {
            for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
              const m = finalMiddlewares[i];
              if (m && typeof m === "object" && typeof m.onError === "function") {
                const result = await m.onError({
                  request,
                  error: errorAfterMiddleware,
                  schemaPath,
                  params,
                  options,
                  id
                });
                if (result) {
                  if (result instanceof Response) {
                    errorAfterMiddleware = void 0;
                    response = result;
                    break;
                  }
                  if (result instanceof Error) {
                    errorAfterMiddleware = result;
                    continue;
                  }
                  throw new Error("onError: must return new Response() or instance of Error");
                }
              }
            }
          }
          if (errorAfterMiddleware) {
            throw errorAfterMiddleware;
          }
        }
        if (finalMiddlewares.length) {
          for (let i = finalMiddlewares.length - 1; i >= 0; i--) {
            const m = finalMiddlewares[i];
            if (m && typeof m === "object" && typeof m.onResponse === "function") {
              const result = await m.onResponse({
                request,
                response,
                schemaPath,
                params,
                options,
                id
              });
              if (result) {
                if (!(result instanceof Response)) {
                  throw new Error("onResponse: must return new Response() when modifying the response");
                }
                response = result;
              }
            }
          }
        }
      }
      const contentLength = response.headers.get("Content-Length");
      if (response.status === 204 || request.method === "HEAD" || contentLength === "0" && !response.headers.get("Transfer-Encoding")?.includes("chunked")) {
        return response.ok ? { data: void 0, response } : { error: void 0, response };
      }
      if (response.ok) {
        const getResponseData = async () => {
          if (parseAs === "stream") {
            return response.body;
          }
          if (parseAs === "json" && !contentLength) {
            const raw = await response.text();
            return raw ? JSON.parse(raw) : void 0;
          }
          return await response[parseAs]();
        };
        return { data: await getResponseData(), response };
      }
      let error = await response.text();
      try {
        error = JSON.parse(error);
      } catch {
      }
      return { error, response };
    }
    return {
      request(method, url, init) {
        return coreFetch(url, { ...init, method: method.toUpperCase() });
      },
      /** Call a GET endpoint */
      GET(url, init) {
        return coreFetch(url, { ...init, method: "GET" });
      },
      /** Call a PUT endpoint */
      PUT(url, init) {
        return coreFetch(url, { ...init, method: "PUT" });
      },
      /** Call a POST endpoint */
      POST(url, init) {
        return coreFetch(url, { ...init, method: "POST" });
      },
      /** Call a DELETE endpoint */
      DELETE(url, init) {
        return coreFetch(url, { ...init, method: "DELETE" });
      },
      /** Call a OPTIONS endpoint */
      OPTIONS(url, init) {
        return coreFetch(url, { ...init, method: "OPTIONS" });
      },
      /** Call a HEAD endpoint */
      HEAD(url, init) {
        return coreFetch(url, { ...init, method: "HEAD" });
      },
      /** Call a PATCH endpoint */
      PATCH(url, init) {
        return coreFetch(url, { ...init, method: "PATCH" });
      },
      /** Call a TRACE endpoint */
      TRACE(url, init) {
        return coreFetch(url, { ...init, method: "TRACE" });
      },
      /** Register middleware */
      use(...middleware) {
        for (const m of middleware) {
          if (!m) {
            continue;
          }
          if (typeof m !== "object" || !("onRequest" in m || "onResponse" in m || "onError" in m)) {
            throw new Error("Middleware must be an object with one of `onRequest()`, `onResponse() or `onError()`");
          }
          globalMiddlewares.push(m);
        }
      },
      /** Unregister middleware */
      eject(...middleware) {
        for (const m of middleware) {
          const i = globalMiddlewares.indexOf(m);
          if (i !== -1) {
            globalMiddlewares.splice(i, 1);
          }
        }
      }
    };
  }
  function serializePrimitiveParam(name, value, options) {
    if (value === void 0 || value === null) {
      return "";
    }
    if (typeof value === "object") {
      throw new Error(
        "Deeply-nested arrays/objects aren’t supported. Provide your own `querySerializer()` to handle these."
      );
    }
    return `${name}=${options?.allowReserved === true ? value : encodeURIComponent(value)}`;
  }
  function serializeObjectParam(name, value, options) {
    if (!value || typeof value !== "object") {
      return "";
    }
    const values = [];
    const joiner = {
      simple: ",",
      label: ".",
      matrix: ";"
    }[options.style] || "&";
    if (options.style !== "deepObject" && options.explode === false) {
      for (const k in value) {
        values.push(k, options.allowReserved === true ? value[k] : encodeURIComponent(value[k]));
      }
      const final2 = values.join(",");
      switch (options.style) {
        case "form": {
          return `${name}=${final2}`;
        }
        case "label": {
          return `.${final2}`;
        }
        case "matrix": {
          return `;${name}=${final2}`;
        }
        default: {
          return final2;
        }
      }
    }
    for (const k in value) {
      const finalName = options.style === "deepObject" ? `${name}[${k}]` : k;
      values.push(serializePrimitiveParam(finalName, value[k], options));
    }
    const final = values.join(joiner);
    return options.style === "label" || options.style === "matrix" ? `${joiner}${final}` : final;
  }
  function serializeArrayParam(name, value, options) {
    if (!Array.isArray(value)) {
      return "";
    }
    if (options.explode === false) {
      const joiner2 = { form: ",", spaceDelimited: "%20", pipeDelimited: "|" }[options.style] || ",";
      const final = (options.allowReserved === true ? value : value.map((v) => encodeURIComponent(v))).join(joiner2);
      switch (options.style) {
        case "simple": {
          return final;
        }
        case "label": {
          return `.${final}`;
        }
        case "matrix": {
          return `;${name}=${final}`;
        }
        // case "spaceDelimited":
        // case "pipeDelimited":
        default: {
          return `${name}=${final}`;
        }
      }
    }
    const joiner = { simple: ",", label: ".", matrix: ";" }[options.style] || "&";
    const values = [];
    for (const v of value) {
      if (options.style === "simple" || options.style === "label") {
        values.push(options.allowReserved === true ? v : encodeURIComponent(v));
      } else {
        values.push(serializePrimitiveParam(name, v, options));
      }
    }
    return options.style === "label" || options.style === "matrix" ? `${joiner}${values.join(joiner)}` : values.join(joiner);
  }
  function createQuerySerializer(options) {
    return function querySerializer(queryParams) {
      const search = [];
      if (queryParams && typeof queryParams === "object") {
        for (const name in queryParams) {
          const value = queryParams[name];
          if (value === void 0 || value === null) {
            continue;
          }
          if (Array.isArray(value)) {
            if (value.length === 0) {
              continue;
            }
            search.push(
              serializeArrayParam(name, value, {
                style: "form",
                explode: true,
                ...options?.array,
                allowReserved: options?.allowReserved || false
              })
            );
            continue;
          }
          if (typeof value === "object") {
            search.push(
              serializeObjectParam(name, value, {
                style: "deepObject",
                explode: true,
                ...options?.object,
                allowReserved: options?.allowReserved || false
              })
            );
            continue;
          }
          search.push(serializePrimitiveParam(name, value, options));
        }
      }
      return search.join("&");
    };
  }
  function defaultPathSerializer(pathname, pathParams) {
    let nextURL = pathname;
    for (const match of pathname.match(PATH_PARAM_RE) ?? []) {
      let name = match.substring(1, match.length - 1);
      let explode = false;
      let style = "simple";
      if (name.endsWith("*")) {
        explode = true;
        name = name.substring(0, name.length - 1);
      }
      if (name.startsWith(".")) {
        style = "label";
        name = name.substring(1);
      } else if (name.startsWith(";")) {
        style = "matrix";
        name = name.substring(1);
      }
      if (!pathParams || pathParams[name] === void 0 || pathParams[name] === null) {
        continue;
      }
      const value = pathParams[name];
      if (Array.isArray(value)) {
        nextURL = nextURL.replace(match, serializeArrayParam(name, value, { style, explode }));
        continue;
      }
      if (typeof value === "object") {
        nextURL = nextURL.replace(match, serializeObjectParam(name, value, { style, explode }));
        continue;
      }
      if (style === "matrix") {
        nextURL = nextURL.replace(match, `;${serializePrimitiveParam(name, value)}`);
        continue;
      }
      nextURL = nextURL.replace(match, style === "label" ? `.${encodeURIComponent(value)}` : encodeURIComponent(value));
    }
    return nextURL;
  }
  function defaultBodySerializer(body, headers) {
    if (body instanceof FormData) {
      return body;
    }
    if (headers) {
      const contentType = headers.get instanceof Function ? headers.get("Content-Type") ?? headers.get("content-type") : headers["Content-Type"] ?? headers["content-type"];
      if (contentType === "application/x-www-form-urlencoded") {
        return new URLSearchParams(body).toString();
      }
    }
    return JSON.stringify(body);
  }
  function createFinalURL(pathname, options) {
    let finalURL = `${options.baseUrl}${pathname}`;
    if (options.params?.path) {
      finalURL = options.pathSerializer(finalURL, options.params.path);
    }
    let search = options.querySerializer(options.params.query ?? {});
    if (search.startsWith("?")) {
      search = search.substring(1);
    }
    if (search) {
      finalURL += `?${search}`;
    }
    return finalURL;
  }
  function mergeHeaders(...allHeaders) {
    const finalHeaders = new Headers();
    for (const h of allHeaders) {
      if (!h || typeof h !== "object") {
        continue;
      }
      const iterator = h instanceof Headers ? h.entries() : Object.entries(h);
      for (const [k, v] of iterator) {
        if (v === null) {
          finalHeaders.delete(k);
        } else if (Array.isArray(v)) {
          for (const v2 of v) {
            finalHeaders.append(k, v2);
          }
        } else if (v !== void 0) {
          finalHeaders.set(k, v);
        }
      }
    }
    return finalHeaders;
  }
  function removeTrailingSlash(url) {
    if (url.endsWith("/")) {
      return url.substring(0, url.length - 1);
    }
    return url;
  }

  // src/index.ts
  function createStorefrontClient(baseUrl = "", fetchImpl) {
    return createClient(fetchImpl ? { baseUrl, fetch: fetchImpl } : { baseUrl });
  }
  function cartToken(token) {
    return { "X-Cart-Token": token };
  }
  function orderToken(token) {
    return { "X-Order-Token": token };
  }
  function ifMatch(version) {
    return `"${version}"`;
  }
  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // demo/main.ts
  var CURRENCY = "EUR";
  var FEW_LEFT = 5;
  var api = createStorefrontClient();
  var state = { products: [], cart: null, token: null, busy: false };
  function element(id) {
    const found = document.getElementById(id);
    if (!found) throw new Error(`the page has no #${id}`);
    return found;
  }
  function make(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== void 0) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function money(value) {
    const amount = Number(value.amount);
    try {
      return new Intl.NumberFormat("en-IE", { style: "currency", currency: value.currency }).format(
        amount
      );
    } catch {
      return `${value.amount} ${value.currency}`;
    }
  }
  function priceOf(variant) {
    return variant.prices.find((price) => price.currency === CURRENCY);
  }
  function variantBySku(sku) {
    for (const product of state.products) {
      const variant = product.variants.find((v) => v.sku === sku);
      if (variant) return { product, variant };
    }
    return void 0;
  }
  function availability(available) {
    if (available <= 0) return { text: "Out of stock", level: "out" };
    if (available <= FEW_LEFT) return { text: `Only ${available} left`, level: "low" };
    return { text: `In stock (${available})`, level: "ok" };
  }
  function problemMessage(problem, doing) {
    if (!problem) return `We could not ${doing}. Please try again.`;
    switch (problem.code) {
      case "validation_failed": {
        const fields = (problem.errors ?? []).map((e) => e.field.replace(/_/g, " "));
        return fields.length > 0 ? `Please check: ${fields.join(", ")}.` : "Please check what you entered.";
      }
      case "not_purchasable":
      case "unknown_sku":
        return "Sorry, that product is not for sale.";
      case "not_allowed":
        return "This cart is being checked out and cannot change now.";
      case "version_mismatch":
        return "Your cart changed in another window; it is shown as it is now. Please try again.";
      case "tax_rate_missing":
        return "Sorry, we do not ship to that country yet.";
      case "shipping_method_not_offered":
        return "Please choose one of the shipping options offered for your address.";
      case "rate_limited":
        return "Too many attempts in a short time. Please wait a moment and try again.";
      default:
        if (problem.status >= 500) return "Something went wrong on our side. Please try again.";
        return `We could not ${doing}. Please try again.`;
    }
  }
  function failureMessage(checkout2) {
    const reason = checkout2.failure?.message?.trim();
    switch (checkout2.failure?.code) {
      case "payment_declined": {
        const more = reason && !/^your card was declined\.?$/i.test(reason) ? ` ${reason}` : "";
        return `Your card was declined.${more} No payment was taken; try another card.`;
      }
      case "out_of_stock":
        return `${reason ?? "Some items are no longer available in the quantity you asked for."} Your cart shows what is left.`;
      case "payment_timeout":
        return "We could not reach the payment provider in time. No payment was taken; please try again.";
      default:
        return reason ?? "Your order could not be placed. Please try again.";
    }
  }
  function notify(message, kind = "error") {
    const notice = element("notice");
    notice.hidden = message === null;
    notice.className = kind === "info" ? "info" : "";
    notice.textContent = message ?? "";
  }
  async function loadProducts() {
    const products = [];
    let after;
    for (; ; ) {
      const { data, error } = await api.GET("/v1/products", {
        params: { query: after ? { limit: 100, starting_after: after } : { limit: 100 } }
      });
      if (error || !data) {
        element("products-status").textContent = problemMessage(error, "load the products");
        return;
      }
      products.push(...data.data);
      const last = data.data[data.data.length - 1];
      if (!data.has_more || !last) break;
      after = last.id;
    }
    state.products = products;
    element("products-status").textContent = products.length === 0 ? "No products are for sale yet." : "";
    renderProducts();
  }
  function renderProducts() {
    const list = element("product-list");
    list.replaceChildren();
    for (const product of state.products) {
      const item = make("li", void 0, "product");
      item.append(make("h3", product.title), make("p", product.description));
      for (const variant of product.variants) {
        const row = make("div", void 0, "variant");
        row.dataset.sku = variant.sku;
        const price = priceOf(variant);
        const stock = availability(variant.available);
        const add = make("button", "Add to cart");
        add.type = "button";
        add.disabled = stock.level === "out" || !price;
        add.setAttribute("aria-label", `Add ${product.title} ${variant.name ?? ""} to cart`.trim());
        add.addEventListener("click", () => void addToCart(variant.sku));
        row.append(
          make("span", variant.name ?? variant.sku, "name"),
          make("span", price ? money(price) : "Not sold in EUR", "price"),
          make("span", stock.text, `stock ${stock.level}`),
          add
        );
        item.append(row);
      }
      list.append(item);
    }
  }
  async function ensureCart() {
    if (state.cart && state.token && state.cart.status === "open") return true;
    const { data, error } = await api.POST("/v1/carts", { body: { currency: CURRENCY } });
    if (error || !data || !data.cart_token) {
      notify(problemMessage(error, "start a cart"));
      return false;
    }
    state.cart = data;
    state.token = data.cart_token;
    return true;
  }
  async function busy(work) {
    if (state.busy) return;
    state.busy = true;
    document.body.classList.add("busy");
    try {
      await work();
    } catch {
      notify("We could not reach the shop. Check your connection and try again.");
    } finally {
      state.busy = false;
      document.body.classList.remove("busy");
    }
  }
  function addToCart(sku) {
    return busy(async () => {
      notify(null);
      hideOrder();
      if (!await ensureCart() || !state.cart || !state.token) return;
      const { data, error } = await api.POST("/v1/carts/{id}/items", {
        params: { path: { id: state.cart.id } },
        headers: cartToken(state.token),
        body: { sku, quantity: 1 }
      });
      if (error || !data) {
        notify(problemMessage(error, "add that to your cart"));
        return;
      }
      state.cart = data;
      renderCart();
    });
  }
  async function reloadCart() {
    if (!state.cart || !state.token) return;
    const { data } = await api.GET("/v1/carts/{id}", {
      params: { path: { id: state.cart.id } },
      headers: cartToken(state.token)
    });
    if (data) state.cart = data;
  }
  function changeQuantity(lineId, quantity) {
    return busy(async () => {
      notify(null);
      if (!state.cart || !state.token) return;
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > 999) {
        notify("Please choose a quantity from 1 to 999.");
        renderCart();
        return;
      }
      const { data, error } = await api.PATCH("/v1/carts/{id}/items/{line_id}", {
        params: {
          path: { id: state.cart.id, line_id: lineId },
          header: { "If-Match": ifMatch(state.cart.version) }
        },
        headers: cartToken(state.token),
        body: { quantity }
      });
      if (error || !data) {
        notify(problemMessage(error, "change the quantity"));
        await reloadCart();
      } else {
        state.cart = data;
      }
      renderCart();
    });
  }
  function removeLine(lineId) {
    return busy(async () => {
      notify(null);
      if (!state.cart || !state.token) return;
      const { data, error } = await api.DELETE("/v1/carts/{id}/items/{line_id}", {
        params: { path: { id: state.cart.id, line_id: lineId } },
        headers: cartToken(state.token)
      });
      if (error || !data) {
        notify(problemMessage(error, "remove that item"));
        await reloadCart();
      } else {
        state.cart = data;
      }
      renderCart();
    });
  }
  function lineWarning(sku, quantity) {
    const known = variantBySku(sku);
    if (!known || known.variant.available >= quantity) return null;
    return known.variant.available <= 0 ? "Out of stock" : `Only ${known.variant.available} left`;
  }
  function totalsRow(label, value, className) {
    const row = make("tr", void 0, className);
    const name = make("td", label);
    name.colSpan = 2;
    row.append(name, make("td", money(value), "num"));
    return row;
  }
  function renderCart() {
    const container = element("cart");
    const form = element("checkout");
    const cart = state.cart;
    if (!cart || cart.lines.length === 0) {
      container.replaceChildren(make("p", "Your cart is empty."));
      form.hidden = true;
      return;
    }
    const table = make("table");
    table.id = "cart-lines";
    const head = make("tr");
    head.append(make("th", "Item"), make("th", "Qty"), make("th", "Total", "num"));
    table.append(head);
    for (const line of cart.lines) {
      const row = make("tr");
      row.dataset.sku = line.sku;
      const item = make("td");
      item.append(make("div", line.title), make("small", line.sku));
      const warning = lineWarning(line.sku, line.quantity);
      if (warning) item.append(make("div", warning, "line-warning"));
      const qty = make("td");
      const input = make("input");
      input.type = "number";
      input.min = "1";
      input.max = "999";
      input.value = String(line.quantity);
      input.setAttribute("aria-label", `Quantity of ${line.title}`);
      input.addEventListener("change", () => void changeQuantity(line.id, Number(input.value)));
      const remove = make("button", "Remove", "link");
      remove.type = "button";
      remove.addEventListener("click", () => void removeLine(line.id));
      qty.append(input, remove);
      row.append(item, qty, make("td", money(line.line_total), "num"));
      table.append(row);
    }
    table.append(totalsRow("Subtotal", cart.subtotal, "totals"));
    if (Number(cart.discount_total.amount) > 0) table.append(totalsRow("Discount", cart.discount_total));
    if (cart.shipping_method) table.append(totalsRow(`Shipping (${cart.shipping_method.name})`, cart.shipping_total));
    if (Number(cart.tax_total.amount) > 0) {
      table.append(totalsRow(cart.taxes_included ? "Tax included" : "Tax", cart.tax_total));
    }
    table.append(totalsRow("Total", cart.total, "total"));
    container.replaceChildren(table);
    form.hidden = false;
  }
  function field(form, name) {
    const value = new FormData(form).get(name);
    return typeof value === "string" ? value.trim() : "";
  }
  function addressFrom(form) {
    return {
      name: field(form, "name"),
      line1: field(form, "line1"),
      city: field(form, "city"),
      postal_code: field(form, "postal_code"),
      // The select offers only countries the document lists.
      country: field(form, "country")
    };
  }
  async function prepareShipping(form) {
    if (!state.cart || !state.token) return false;
    const headers = cartToken(state.token);
    const path = { id: state.cart.id };
    const placed = await api.PUT("/v1/carts/{id}/shipping-address", {
      params: { path },
      headers,
      body: addressFrom(form)
    });
    if (placed.error || !placed.data) {
      notify(problemMessage(placed.error, "use that address"));
      return false;
    }
    state.cart = placed.data;
    const offered = await api.GET("/v1/carts/{id}/shipping-options", { params: { path }, headers });
    if (offered.error || !offered.data) {
      notify(problemMessage(offered.error, "find shipping for that address"));
      return false;
    }
    const options = offered.data.data;
    const fieldset = element("shipping");
    if (options.length === 0) {
      fieldset.hidden = true;
      renderCart();
      return true;
    }
    const chosen = new FormData(form).get("shipping_option");
    const pick = options.length === 1 ? options[0]?.option_id : options.find((o) => o.option_id === chosen)?.option_id;
    renderShippingOptions(options.map((o) => ({ id: o.option_id, label: `${o.name}: ${money(o.price)}` })), pick);
    if (!pick) {
      notify("Please choose how your order ships.", "info");
      return false;
    }
    const method = await api.PUT("/v1/carts/{id}/shipping-method", {
      params: { path },
      headers,
      body: { option_id: pick }
    });
    if (method.error || !method.data) {
      notify(problemMessage(method.error, "use that shipping option"));
      return false;
    }
    state.cart = method.data;
    renderCart();
    return true;
  }
  function renderShippingOptions(options, picked) {
    const fieldset = element("shipping");
    const list = element("shipping-options");
    list.replaceChildren();
    for (const option of options) {
      const label = make("label");
      const radio = make("input");
      radio.type = "radio";
      radio.name = "shipping_option";
      radio.value = option.id;
      radio.checked = option.id === picked;
      label.append(radio, ` ${option.label}`);
      list.append(label);
    }
    fieldset.hidden = false;
  }
  async function waitForCheckout(id, token) {
    for (let ask = 0; ask < 12; ask++) {
      const { data, error } = await api.GET("/v1/checkouts/{id}", {
        params: { path: { id }, query: { wait: 10 } },
        headers: cartToken(token)
      });
      if (error || !data) {
        notify(problemMessage(error, "follow your order"));
        return null;
      }
      if (data.status !== "pending") return data;
    }
    notify("Your order is taking longer than usual. Please check again in a moment.", "info");
    return null;
  }
  function checkout(form) {
    return busy(async () => {
      notify(null);
      hideOrder();
      const cart = state.cart;
      const token = state.token;
      if (!cart || !token) return;
      if (!form.reportValidity()) return;
      if (!await prepareShipping(form)) return;
      const pay = element("pay");
      pay.disabled = true;
      pay.textContent = "Placing your order…";
      try {
        const started = await api.POST("/v1/carts/{id}/checkout", {
          params: { path: { id: cart.id }, header: { "Idempotency-Key": idempotencyKey() } },
          headers: cartToken(token),
          body: { email: field(form, "email"), payment_method_token: field(form, "card") }
        });
        if (started.error || !started.data) {
          notify(problemMessage(started.error, "place your order"));
          return;
        }
        const finished = await waitForCheckout(started.data.id, token);
        if (!finished) return;
        if (finished.status === "completed" && finished.order_id && finished.order_access_token) {
          await showOrder(finished.order_id, finished.order_access_token);
          state.cart = null;
          state.token = null;
          renderCart();
          await loadProducts();
          return;
        }
        notify(failureMessage(finished));
        await loadProducts();
        await reloadCart();
        renderCart();
        refreshStockSoon();
      } finally {
        pay.disabled = false;
        pay.textContent = "Place order";
      }
    });
  }
  function refreshStockSoon() {
    window.setTimeout(() => {
      void loadProducts().then(() => {
        if (!state.busy) renderCart();
      });
    }, 1500);
  }
  function hideOrder() {
    const section = element("order");
    section.hidden = true;
    section.replaceChildren();
  }
  async function showOrder(id, token) {
    const { data, error } = await api.GET("/v1/orders/{id}", {
      params: { path: { id } },
      headers: orderToken(token)
    });
    if (error || !data) {
      notify(problemMessage(error, "show your order; it was placed all the same"));
      return;
    }
    renderOrder(data);
  }
  var STATUS_TEXT = {
    placed: "Placed",
    paid: "Paid",
    fulfilled: "Shipped",
    completed: "Completed",
    cancelled: "Cancelled"
  };
  function renderOrder(order) {
    const section = element("order");
    const title = make("h3", `Thank you! Order ${order.name ?? order.id} is confirmed.`);
    title.id = "order-title";
    const status = make("p", `Status: ${STATUS_TEXT[order.status] ?? order.status}`);
    status.id = "order-status";
    const table = make("table");
    table.id = "order-lines";
    for (const line of order.lines) {
      const row = make("tr");
      row.append(make("td", line.title), make("td", `× ${line.quantity}`), make("td", money(line.line_total), "num"));
      table.append(row);
    }
    table.append(totalsRow("Subtotal", order.subtotal, "totals"));
    if (Number(order.discount_total.amount) > 0) table.append(totalsRow("Discount", order.discount_total));
    table.append(totalsRow("Shipping", order.shipping_total));
    if (Number(order.tax_total.amount) > 0) {
      table.append(totalsRow(order.taxes_included ? "Tax included" : "Tax", order.tax_total));
    }
    const total = totalsRow("Total paid", order.total, "total");
    total.id = "order-total";
    table.append(total);
    const shipTo = order.shipping_address ? make("p", `Ships to ${order.shipping_address.name}, ${order.shipping_address.city}`) : make("p");
    section.replaceChildren(title, status, table, shipTo);
    section.hidden = false;
  }
  function start() {
    const form = element("checkout");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void checkout(form);
    });
    void loadProducts().catch(() => {
      element("products-status").textContent = "We could not reach the shop. Check your connection and reload the page.";
    });
  }
  start();
})();
