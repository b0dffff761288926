//! Given/when/then specifications of the return, and its saga's decisions.

use chrono::{TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{OrderId, Quantity, Sku};
use uuid::Uuid;

use super::*;

type ReturnTest = TestFramework<Return>;

fn test() -> ReturnTest {
    ReturnTest::with(())
}

fn id() -> ReturnId {
    ReturnId::from_uuid(Uuid::from_u128(0x4E7))
}

fn order() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0DE5))
}

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
}

fn line(raw: &str, n: u32) -> ReturnLine {
    ReturnLine {
        sku: sku(raw),
        quantity: Quantity::new(n).unwrap(),
    }
}

fn request_with(lines: Vec<ReturnLine>, why: &str) -> ReturnCommand {
    ReturnCommand::RequestReturn {
        return_id: id(),
        order_id: order(),
        lines,
        reason: why.into(),
        requested_at: at(),
    }
}

fn request() -> ReturnCommand {
    request_with(vec![line("TEE-S", 2), line("MUG", 1)], "Too small")
}

fn requested() -> ReturnEvent {
    ReturnEvent::ReturnRequested {
        return_id: id(),
        order_id: order(),
        lines: vec![
            ReturnLineData {
                sku: "TEE-S".into(),
                quantity: 2,
            },
            ReturnLineData {
                sku: "MUG".into(),
                quantity: 1,
            },
        ],
        reason: "Too small".into(),
        requested_at: at(),
    }
}

fn got(raw: &str, received: u32, resellable: u32) -> ReceivedLine {
    ReceivedLine {
        sku: sku(raw),
        received,
        resellable,
    }
}

fn received_event() -> ReturnEvent {
    ReturnEvent::ReturnReceived {
        lines: vec![ReceivedLineData {
            sku: "TEE-S".into(),
            received: 2,
            resellable: 1,
        }],
    }
}

fn receive() -> ReturnCommand {
    ReturnCommand::ReceiveReturn {
        lines: vec![got("TEE-S", 2, 1), got("MUG", 0, 0)],
    }
}

fn approved() -> Vec<ReturnEvent> {
    vec![requested(), ReturnEvent::ReturnApproved {}]
}

fn received() -> Vec<ReturnEvent> {
    vec![
        requested(),
        ReturnEvent::ReturnApproved {},
        received_event(),
    ]
}

fn refunding() -> Vec<ReturnEvent> {
    let mut events = received();
    events.push(ReturnEvent::ReturnRefundRequested {});
    events
}

fn not_allowed(status: ReturnStatus, command: &'static str) -> ReturnError {
    ReturnError::NotAllowed { status, command }
}

fn replay(events: Vec<ReturnEvent>) -> Return {
    let mut ret = Return::default();
    for event in events {
        ret.apply(event);
    }
    ret
}

#[test]
fn a_shopper_requests_a_return_of_lines_with_a_reason() {
    test()
        .given_no_previous_events()
        .when(request())
        .then_expect_events(vec![requested()]);
    test()
        .given(vec![requested()])
        .when(request())
        .then_expect_events(vec![]);
    test()
        .given(vec![requested()])
        .when(request_with(vec![line("TEE-S", 1)], "Too small"))
        .then_expect_error(ReturnError::AlreadyRequested { return_id: id() });
}

#[test]
fn a_request_needs_lines_once_each_and_a_reason() {
    test()
        .given_no_previous_events()
        .when(request_with(vec![], "x"))
        .then_expect_error(ReturnError::InvalidLines);
    test()
        .given_no_previous_events()
        .when(request_with(vec![line("A", 1), line("A", 2)], "x"))
        .then_expect_error(ReturnError::DuplicateLine { sku: sku("A") });
    test()
        .given_no_previous_events()
        .when(request_with(vec![line("A", 1)], " "))
        .then_expect_error(ReturnError::InvalidReason {
            reason: "must not be empty".into(),
        });
}

#[test]
fn staff_approve_or_reject_a_requested_return_once() {
    test()
        .given(vec![requested()])
        .when(ReturnCommand::ApproveReturn)
        .then_expect_events(vec![ReturnEvent::ReturnApproved {}]);
    test()
        .given(vec![requested()])
        .when(ReturnCommand::RejectReturn {
            reason: "Worn".into(),
        })
        .then_expect_events(vec![ReturnEvent::ReturnRejected {
            reason: "Worn".into(),
        }]);
    test()
        .given(approved())
        .when(ReturnCommand::RejectReturn {
            reason: "Worn".into(),
        })
        .then_expect_error(not_allowed(ReturnStatus::Approved, "RejectReturn"));
    test()
        .given(vec![
            requested(),
            ReturnEvent::ReturnRejected {
                reason: "Worn".into(),
            },
        ])
        .when(ReturnCommand::ApproveReturn)
        .then_expect_error(not_allowed(ReturnStatus::Rejected, "ApproveReturn"));
}

#[test]
fn goods_are_received_only_after_approval() {
    test()
        .given(vec![requested()])
        .when(receive())
        .then_expect_error(not_allowed(ReturnStatus::Requested, "ReceiveReturn"));
    test()
        .given(approved())
        .when(receive())
        .then_expect_events(vec![received_event()]);
    test()
        .given(received())
        .when(receive())
        .then_expect_events(vec![]);
    test()
        .given(received())
        .when(ReturnCommand::ReceiveReturn {
            lines: vec![got("TEE-S", 1, 1)],
        })
        .then_expect_error(not_allowed(ReturnStatus::Received, "ReceiveReturn"));
}

#[test]
fn a_receipt_counts_no_more_than_was_sent_and_resells_no_more_than_arrived() {
    let refused = |lines, error| {
        test()
            .given(approved())
            .when(ReturnCommand::ReceiveReturn { lines })
            .then_expect_error(error);
    };
    refused(
        vec![got("TEE-S", 3, 0)],
        ReturnError::InvalidReceipt {
            sku: sku("TEE-S"),
            expected: 2,
            received: 3,
            resellable: 0,
        },
    );
    refused(
        vec![got("TEE-S", 1, 2)],
        ReturnError::InvalidReceipt {
            sku: sku("TEE-S"),
            expected: 2,
            received: 1,
            resellable: 2,
        },
    );
    refused(
        vec![got("CAP", 1, 1)],
        ReturnError::UnknownLine { sku: sku("CAP") },
    );
    refused(
        vec![got("TEE-S", 1, 1), got("TEE-S", 1, 0)],
        ReturnError::DuplicateLine { sku: sku("TEE-S") },
    );
    refused(vec![got("TEE-S", 0, 0)], ReturnError::NothingReceived);
}

#[test]
fn the_refund_is_recorded_as_asked_for_then_done_or_failed() {
    test()
        .given(received())
        .when(ReturnCommand::RecordRefundRequested)
        .then_expect_events(vec![ReturnEvent::ReturnRefundRequested {}]);
    test()
        .given(refunding())
        .when(ReturnCommand::RecordRefunded)
        .then_expect_events(vec![ReturnEvent::ReturnRefunded {}]);
    test()
        .given(refunding())
        .when(ReturnCommand::RecordRefundFailed {
            reason: "card account closed".into(),
        })
        .then_expect_events(vec![ReturnEvent::ReturnRefundFailed {
            reason: "card account closed".into(),
        }]);
    test()
        .given(received())
        .when(ReturnCommand::RecordRefundRefused {
            reason: "over_refund".into(),
        })
        .then_expect_events(vec![ReturnEvent::ReturnRefundFailed {
            reason: "over_refund".into(),
        }]);
    test()
        .given(approved())
        .when(ReturnCommand::RecordRefunded)
        .then_expect_error(not_allowed(ReturnStatus::Approved, "RecordRefunded"));
    let mut done = refunding();
    done.push(ReturnEvent::ReturnRefunded {});
    test()
        .given(done.clone())
        .when(ReturnCommand::RecordRefunded)
        .then_expect_events(vec![]);
    test()
        .given(done)
        .when(ReturnCommand::RecordRefundFailed {
            reason: "late".into(),
        })
        .then_expect_error(not_allowed(ReturnStatus::Refunded, "RecordRefundFailed"));
}

#[test]
fn nothing_but_a_request_is_accepted_first() {
    test()
        .given_no_previous_events()
        .when(ReturnCommand::ApproveReturn)
        .then_expect_error(ReturnError::NotFound);
}

#[test]
fn after_receipt_the_received_units_are_refunded_restocking_the_resellable_ones() {
    assert!(
        next_steps(&replay(approved())).is_empty(),
        "nothing before receipt"
    );
    assert_eq!(
        next_steps(&replay(received())),
        vec![ReturnStep::RequestRefund {
            order_id: order(),
            refund_id: id().refund_id(),
            lines: vec![line("TEE-S", 2)],
            restock: true,
            reason: "Return: Too small".into(),
        }]
    );
    let unsellable = replay(vec![
        requested(),
        ReturnEvent::ReturnApproved {},
        ReturnEvent::ReturnReceived {
            lines: vec![ReceivedLineData {
                sku: "TEE-S".into(),
                received: 2,
                resellable: 0,
            }],
        },
    ]);
    assert!(matches!(
        next_steps(&unsellable).as_slice(),
        [ReturnStep::RequestRefund { restock: false, .. }]
    ));
    assert_eq!(
        next_steps(&replay(refunding())),
        vec![ReturnStep::AwaitRefund {
            refund_id: id().refund_id()
        }]
    );
    let mut done = refunding();
    done.push(ReturnEvent::ReturnRefunded {});
    assert!(next_steps(&replay(done)).is_empty());
}

#[test]
fn events_have_stable_names_and_version_two() {
    for (event, name) in [
        (requested(), "ReturnRequested"),
        (ReturnEvent::ReturnApproved {}, "ReturnApproved"),
        (
            ReturnEvent::ReturnRejected { reason: "x".into() },
            "ReturnRejected",
        ),
        (received_event(), "ReturnReceived"),
        (
            ReturnEvent::ReturnRefundRequested {},
            "ReturnRefundRequested",
        ),
        (
            ReturnEvent::ReturnRefundFailed { reason: "x".into() },
            "ReturnRefundFailed",
        ),
        (ReturnEvent::ReturnRefunded {}, "ReturnRefunded"),
    ] {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<ReturnEvent>(&json).unwrap(), event);
    }
}
