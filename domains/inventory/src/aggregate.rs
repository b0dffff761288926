//! The `StockItem` aggregate: units on hand and reservations of one SKU.
//!
//! Per reservation id (`-` = unknown to this item):
//!
//! | reservation | ReserveStock, same qty | ReserveStock, other qty | ReleaseReservation | CommitReservation    | ExpireReservations(now) |
//! |-------------|------------------------|-------------------------|--------------------|----------------------|-------------------------|
//! | -           | Reserved or OutOfStock | Reserved or OutOfStock  | UnknownReservation | UnknownReservation   | -                       |
//! | Active      | no-op                  | ReservationMismatch     | Released           | Committed            | Expired if due          |
//! | Released    | no-op                  | ReservationMismatch     | no-op              | ReservationNotActive | -                       |
//! | Committed   | no-op                  | ReservationMismatch     | AlreadyCommitted   | no-op                | -                       |
//! | Expired     | no-op                  | ReservationMismatch     | no-op              | ReservationNotActive | -                       |
//!
//! A repeated reserve is a no-op even after release or expiry: it is a redelivery of the step
//! that created the reservation, and must not hold stock a second time. Ended reservations are
//! therefore kept in the state for good.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{Quantity, ReservationId, Sku};

use crate::commands::StockCommand;
use crate::errors::InventoryError;
use crate::events::StockEvent;
use crate::values::{AdjustmentReason, Reservation, ReservationStatus, MAX_ON_HAND};

/// The stock of one SKU. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockItem {
    /// `None` until the first receipt or adjustment.
    sku: Option<Sku>,
    on_hand: u64,
    reservations: BTreeMap<ReservationId, Reservation>,
    /// Units booked back per return id, so a repeated return books nothing.
    #[serde(default)]
    returns: BTreeMap<uuid::Uuid, u32>,
}

impl StockItem {
    /// The aggregate id to load and command for `sku`: its normalized form.
    pub fn aggregate_id(sku: &Sku) -> String {
        sku.as_str().to_owned()
    }

    /// The SKU, once stock was ever received or adjusted.
    pub fn sku(&self) -> Option<&Sku> {
        self.sku.as_ref()
    }

    /// Units physically in stock, reserved ones included.
    pub fn on_hand(&self) -> u64 {
        self.on_hand
    }

    /// Units held by active reservations.
    pub fn reserved(&self) -> u64 {
        self.active_reservations()
            .map(|r| u64::from(r.quantity().get()))
            .sum()
    }

    /// Units that can still be reserved.
    pub fn available(&self) -> u64 {
        // Decisions keep reserved <= on hand; saturating keeps a reader safe regardless.
        self.on_hand.saturating_sub(self.reserved())
    }

    /// Any reservation this item has seen, whatever its status.
    pub fn reservation(&self, reservation_id: ReservationId) -> Option<&Reservation> {
        self.reservations.get(&reservation_id)
    }

    /// Reservations currently holding stock, in reservation id order.
    pub fn active_reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values().filter(|r| r.is_active())
    }

    fn decide(&self, command: StockCommand) -> Result<Vec<StockEvent>, InventoryError> {
        use StockCommand as C;
        match command {
            C::ReceiveStock {
                sku,
                quantity,
                reference,
            } => self.receive(sku, quantity, reference),
            C::AdjustStock { sku, delta, reason } => self.adjust(sku, delta, reason),
            C::ReserveStock {
                sku,
                reservation_id,
                quantity,
                expires_at,
            } => self.reserve(sku, reservation_id, quantity, expires_at),
            C::ReleaseReservation { reservation_id } => {
                use ReservationStatus::{Active, Committed, Expired, Released};
                match self.existing(reservation_id)?.status() {
                    Active => Ok(vec![StockEvent::ReservationReleased { reservation_id }]),
                    Released | Expired => Ok(vec![]),
                    Committed => Err(InventoryError::AlreadyCommitted { reservation_id }),
                }
            }
            C::CommitReservation { reservation_id } => {
                use ReservationStatus::{Active, Committed, Expired, Released};
                let reservation = self.existing(reservation_id)?;
                match reservation.status() {
                    Active => Ok(vec![StockEvent::ReservationCommitted {
                        reservation_id,
                        quantity: reservation.quantity(),
                    }]),
                    Committed => Ok(vec![]),
                    status @ (Released | Expired) => Err(InventoryError::ReservationNotActive {
                        reservation_id,
                        status,
                    }),
                }
            }
            C::ReturnStock {
                sku,
                return_id,
                quantity,
            } => self.take_back(sku, return_id, quantity),
            C::ExpireReservations { now } => Ok(self
                .active_reservations()
                .filter(|r| r.expires_at() <= now)
                .map(|r| StockEvent::ReservationExpired {
                    reservation_id: r.reservation_id(),
                })
                .collect()),
        }
    }

    fn take_back(
        &self,
        sku: Sku,
        return_id: uuid::Uuid,
        quantity: Quantity,
    ) -> Result<Vec<StockEvent>, InventoryError> {
        if self.sku.is_none() {
            return Err(InventoryError::NothingToReturnTo { sku });
        }
        self.check_sku(&sku)?;
        if let Some(recorded) = self.returns.get(&return_id) {
            return if *recorded == quantity.get() {
                Ok(vec![])
            } else {
                Err(InventoryError::ReturnMismatch {
                    return_id,
                    recorded: *recorded,
                    requested: quantity.get(),
                })
            };
        }
        let adding = u64::from(quantity.get());
        if self.on_hand + adding > MAX_ON_HAND {
            return Err(InventoryError::TooMuchStock {
                on_hand: self.on_hand,
                adding,
                max: MAX_ON_HAND,
            });
        }
        Ok(vec![StockEvent::StockReturned {
            return_id,
            quantity,
        }])
    }

    fn receive(
        &self,
        sku: Sku,
        quantity: Quantity,
        reference: Option<String>,
    ) -> Result<Vec<StockEvent>, InventoryError> {
        self.check_sku(&sku)?;
        let adding = u64::from(quantity.get());
        if self.on_hand + adding > MAX_ON_HAND {
            return Err(InventoryError::TooMuchStock {
                on_hand: self.on_hand,
                adding,
                max: MAX_ON_HAND,
            });
        }
        let reference = reference
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        Ok(vec![StockEvent::StockReceived {
            sku: sku.into(),
            quantity,
            reference,
        }])
    }

    fn adjust(
        &self,
        sku: Sku,
        delta: i64,
        reason: AdjustmentReason,
    ) -> Result<Vec<StockEvent>, InventoryError> {
        self.check_sku(&sku)?;
        if delta == 0 {
            return Err(InventoryError::ZeroAdjustment);
        }
        let reason = reason.normalized()?;
        // i128 holds any u64 plus any i64 without overflow.
        let after = i128::from(self.on_hand) + i128::from(delta);
        let reserved = self.reserved();
        if after < i128::from(reserved) {
            return Err(InventoryError::WouldGoBelowReserved {
                on_hand: self.on_hand,
                reserved,
                delta,
            });
        }
        if after > i128::from(MAX_ON_HAND) {
            return Err(InventoryError::TooMuchStock {
                on_hand: self.on_hand,
                adding: delta.unsigned_abs(),
                max: MAX_ON_HAND,
            });
        }
        Ok(vec![StockEvent::StockAdjusted {
            sku: sku.into(),
            delta,
            reason,
        }])
    }

    fn reserve(
        &self,
        sku: Sku,
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<StockEvent>, InventoryError> {
        self.check_sku(&sku)?;
        // Redelivery is recognised before availability: stock may have run out since.
        if let Some(existing) = self.reservation(reservation_id) {
            if existing.quantity() == quantity {
                return Ok(vec![]);
            }
            return Err(InventoryError::ReservationMismatch {
                reservation_id,
                reserved: existing.quantity().get(),
                requested: quantity.get(),
            });
        }
        let available = self.available();
        if available < u64::from(quantity.get()) {
            return Err(InventoryError::OutOfStock {
                sku,
                requested: quantity.get(),
                available,
            });
        }
        Ok(vec![StockEvent::StockReserved {
            reservation_id,
            quantity,
            expires_at,
        }])
    }

    /// Refuses a command for another SKU. A new item accepts any SKU; its first event records it.
    fn check_sku(&self, sku: &Sku) -> Result<(), InventoryError> {
        match &self.sku {
            Some(item) if item != sku => Err(InventoryError::SkuMismatch {
                item: item.clone(),
                command: sku.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn existing(&self, reservation_id: ReservationId) -> Result<&Reservation, InventoryError> {
        self.reservation(reservation_id)
            .ok_or(InventoryError::UnknownReservation { reservation_id })
    }

    fn end_reservation(&mut self, reservation_id: ReservationId, status: ReservationStatus) {
        if let Some(reservation) = self.reservations.get_mut(&reservation_id) {
            reservation.set_status(status);
        }
    }
}

impl Aggregate for StockItem {
    const TYPE: &'static str = "stock_item";
    type Command = StockCommand;
    type Event = StockEvent;
    type Error = InventoryError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            StockEvent::StockReceived { sku, quantity, .. } => {
                self.sku = Some(Sku::recorded(sku));
                self.on_hand += u64::from(quantity.get());
            }
            StockEvent::StockAdjusted { sku, delta, .. } => {
                self.sku = Some(Sku::recorded(sku));
                self.on_hand = self.on_hand.saturating_add_signed(delta);
            }
            StockEvent::StockReserved {
                reservation_id,
                quantity,
                expires_at,
            } => {
                self.reservations.insert(
                    reservation_id,
                    Reservation::new(reservation_id, quantity, expires_at),
                );
            }
            StockEvent::ReservationReleased { reservation_id } => {
                self.end_reservation(reservation_id, ReservationStatus::Released);
            }
            StockEvent::ReservationCommitted {
                reservation_id,
                quantity,
            } => {
                self.on_hand = self.on_hand.saturating_sub(u64::from(quantity.get()));
                self.end_reservation(reservation_id, ReservationStatus::Committed);
            }
            StockEvent::ReservationExpired { reservation_id } => {
                self.end_reservation(reservation_id, ReservationStatus::Expired);
            }
            StockEvent::StockReturned {
                return_id,
                quantity,
            } => {
                self.on_hand = self.on_hand.saturating_add(u64::from(quantity.get()));
                self.returns.insert(return_id, quantity.get());
            }
        }
    }
}

#[cfg(test)]
mod tests;
