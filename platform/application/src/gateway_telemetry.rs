//! The payment gateway as an operator sees it (ADR 0030): every call is a client span in the
//! trace of the step that made it, and its latency is recorded by operation and outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use payments::ports::{
    Authorization, AuthorizeRequest, CaptureReceipt, CaptureRequest, GatewayError, PaymentGateway,
    RefundReceipt, RefundRequest, VoidRequest,
};

/// Wraps any [`PaymentGateway`] adapter; the calls and their answers are unchanged.
pub struct InstrumentedGateway {
    inner: Arc<dyn PaymentGateway>,
}

impl InstrumentedGateway {
    pub fn new(inner: Arc<dyn PaymentGateway>) -> Self {
        Self { inner }
    }
}

/// The outcome label of a gateway answer: what the caller may do next, never its message.
fn outcome<T>(result: &Result<T, GatewayError>) -> &'static str {
    match result {
        Ok(_) => "succeeded",
        Err(GatewayError::Declined { .. }) => "declined",
        Err(GatewayError::Transient(_)) => "transient",
        Err(GatewayError::Unknown(_)) => "unknown",
        Err(GatewayError::Rejected(_)) => "rejected",
    }
}

async fn observe<T>(
    operation: &'static str,
    idempotency_key: &str,
    call: impl Future<Output = Result<T, GatewayError>>,
) -> Result<T, GatewayError> {
    let span = tracing::info_span!(
        parent: &runtime::telemetry::current_span(),
        "payment gateway",
        otel.name = %format_args!("payment_gateway {operation}"),
        otel.kind = "client",
        peer.service = "payment-gateway",
        commerce.gateway.operation = operation,
        commerce.gateway.idempotency_key = idempotency_key,
        commerce.gateway.outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = runtime::telemetry::traced(span.clone(), call).await;
    let outcome = outcome(&result);
    span.record("commerce.gateway.outcome", outcome);
    if matches!(outcome, "transient" | "unknown" | "rejected") {
        span.record("otel.status_code", "ERROR");
    }
    runtime::metrics().gateway_call(operation, outcome, started.elapsed());
    result
}

#[async_trait]
impl PaymentGateway for InstrumentedGateway {
    async fn authorize(&self, request: AuthorizeRequest) -> Result<Authorization, GatewayError> {
        let key = request.idempotency_key.clone();
        observe("authorize", &key, self.inner.authorize(request)).await
    }

    async fn capture(&self, request: CaptureRequest) -> Result<CaptureReceipt, GatewayError> {
        let key = request.idempotency_key.clone();
        observe("capture", &key, self.inner.capture(request)).await
    }

    async fn void(&self, request: VoidRequest) -> Result<(), GatewayError> {
        let key = request.idempotency_key.clone();
        observe("void", &key, self.inner.void(request)).await
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundReceipt, GatewayError> {
        let key = request.idempotency_key.clone();
        observe("refund", &key, self.inner.refund(request)).await
    }
}
