//! The transport arithmetic that needs no Python: rounds, shares, which objects go.
use super::*;

fn ok_after(log: &std::cell::RefCell<Vec<usize>>) -> impl FnMut(usize) -> Result<u64, TripError> + '_ {
    |i| {
        log.borrow_mut().push(i);
        Ok(100 + i as u64)
    }
}

#[test]
fn timed_rounds_run_the_least_even_past_the_deadline_and_stop_there() {
    let log = std::cell::RefCell::new(Vec::new());
    let past = Instant::now() - Duration::from_secs(1);
    assert_eq!(
        timed_rounds(3, 200, past, ok_after(&log)).unwrap(),
        vec![100, 101, 102]
    );
    assert_eq!(*log.borrow(), vec![0, 1, 2]);
}

#[test]
fn timed_rounds_stop_at_the_most_before_the_deadline() {
    let log = std::cell::RefCell::new(Vec::new());
    let later = Instant::now() + Duration::from_secs(3600);
    assert_eq!(
        timed_rounds(3, 5, later, ok_after(&log)).unwrap(),
        vec![100, 101, 102, 103, 104]
    );
    assert_eq!(timed_rounds(3, 2, later, ok_after(&log)).unwrap(), vec![100, 101]);
}

#[test]
fn timed_rounds_stop_at_the_first_error() {
    let later = Instant::now() + Duration::from_secs(3600);
    let mut calls = 0;
    let outcome = timed_rounds(3, 200, later, |i| {
        calls += 1;
        if i == 1 {
            Err(TripError::Failed("TransportError: gone".into()))
        } else {
            Ok(7)
        }
    });
    match outcome {
        Err(TripError::Failed(text)) => assert_eq!(text, "TransportError: gone"),
        other => panic!("expected the failure, got {other:?}"),
    }
    assert_eq!(calls, 2);
}

#[test]
fn results_back_send_every_result_once_then_round_robin() {
    let past = Instant::now() - Duration::from_secs(1);
    // Past the deadline: every one of 5 results once (more than the 3 minimum rounds).
    let mut sent = Vec::new();
    results_back_rounds(5, past, |i| {
        sent.push(i);
        Ok(1)
    })
    .unwrap();
    assert_eq!(sent, vec![0, 1, 2, 3, 4]);
    // Fewer results than the minimum: round-robin over them up to the minimum.
    let mut sent = Vec::new();
    results_back_rounds(2, past, |i| {
        sent.push(i);
        Ok(1)
    })
    .unwrap();
    assert_eq!(sent, vec![0, 1, 0]);
    // Before the deadline: round-robin up to the most rounds.
    let mut sent = Vec::new();
    let later = Instant::now() + Duration::from_secs(3600);
    results_back_rounds(3, later, |i| {
        sent.push(i);
        Ok(1)
    })
    .unwrap();
    assert_eq!(sent.len(), tuning::TRANSPORT_MAX_ROUNDS);
    assert_eq!(&sent[..7], &[0, 1, 2, 0, 1, 2, 0]);
}

#[test]
fn shares_split_the_budget_over_payloads_and_transports() {
    let shares = Shares::of(15.0, 3);
    // 15 s over 3 payloads x 6 transports.
    assert_eq!(shares.fork_cell(), Duration::from_secs_f64(15.0 / 18.0));
    // thread + process + isolated sub-interpreters: 15 / (3 x 3).
    assert_eq!(shares.cell(3), Duration::from_secs_f64(15.0 / 9.0));
    // No payload with an object still gets a share, as if there were one.
    assert_eq!(Shares::of(10.0, 0).cell(2), Duration::from_secs(5));
    // A tiny budget: never below the floor.
    assert_eq!(
        Shares::of(0.1, 4).cell(4),
        Duration::from_secs_f64(MIN_SHARE_SECONDS)
    );
}

#[test]
fn objects_sized_first_then_unpicklable_ones_for_fork_up_to_the_cap() {
    let most = tuning::TRANSPORT_OBJECTS_PER_PAYLOAD;
    let sizes: Vec<(usize, u64)> = (0..4).map(|i| (i * 2, 100)).collect();
    let failures: Vec<(usize, String)> = (0..40).map(|i| (i * 2 + 1, "TypeError: lock".into())).collect();
    let (sized, unpicklable) = object_indices(&sizes, &failures);
    assert_eq!(sized, vec![0, 2, 4, 6]);
    assert_eq!(unpicklable.len(), most - 4);
    assert_eq!(&unpicklable[..3], &[1, 3, 5]);
    // More sized objects than the cap: only the first `most`, none unpicklable.
    let many: Vec<(usize, u64)> = (0..most + 5).map(|i| (i, 1)).collect();
    let (sized, unpicklable) = object_indices(&many, &failures);
    assert_eq!(sized, (0..most).collect::<Vec<_>>());
    assert!(unpicklable.is_empty());
}

#[test]
fn a_failed_cell_says_why_and_an_interrupted_one_stops_the_run() {
    let cell = Cell::new(TransportKind::Process, PayloadKind::Page, None)
        .record(Ok(vec![0, 2_000]))
        .unwrap();
    assert!(cell.available);
    assert_eq!(cell.roundtrip.len(), 2);
    assert_eq!(cell.roundtrip.min(), 1);
    let failed = Cell::new(TransportKind::Process, PayloadKind::Page, None)
        .record(Err(TripError::Failed(
            "ModuleNotFoundError: No module named 'x'".into(),
        )))
        .unwrap();
    assert!(!failed.available);
    assert_eq!(
        failed.reason.as_deref(),
        Some("ModuleNotFoundError: No module named 'x'")
    );
    let stopped = Cell::new(TransportKind::Thread, PayloadKind::Site, None)
        .record(Err(TripError::Interrupted(Interrupted { signal: 2 })));
    let err = stopped.err().expect("an interrupt stops the run");
    assert_eq!(err.downcast_ref::<Interrupted>().unwrap().signal, 2);
    let none = Cell::unavailable(TransportKind::SubinterpreterLegacy, PayloadKind::Site, None);
    assert_eq!(none.reason.as_deref(), Some("not available"));
}

#[test]
fn a_cell_keeps_its_stream_or_says_why_not_and_an_interrupt_stops_the_run() {
    let cell = || {
        Cell::new(TransportKind::Process, PayloadKind::Page, None)
            .record(Ok(vec![5_000]))
            .unwrap()
    };
    let cost = StreamCost {
        in_flight: 4,
        workers: 2,
        items: 8,
        planned: 64,
        main_ns: vec![1_000; 8],
        worker_ns: vec![400; 8],
        wall_ns_per_item: 700.0,
        bytes: vec![300; 8],
    };
    let streamed = cell().with_stream(Ok(cost.clone())).unwrap();
    assert_eq!(streamed.stream, Some(cost));
    assert_eq!(streamed.stream_reason, None);
    let failed = cell()
        .with_stream(Err(TripError::Failed("TransportError: gone".into())))
        .unwrap();
    assert!(failed.available && failed.stream.is_none());
    assert_eq!(failed.stream_reason.as_deref(), Some("TransportError: gone"));
    let stopped = cell().with_stream(Err(TripError::Interrupted(Interrupted { signal: 15 })));
    assert_eq!(
        stopped
            .err()
            .unwrap()
            .downcast_ref::<Interrupted>()
            .unwrap()
            .signal,
        15
    );
}
