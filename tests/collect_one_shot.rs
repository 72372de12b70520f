//! The reference's one-shot command end to end: moto, a real analysisd socket
//! and a real database; exact datagrams, rows, stderr lines and exit codes.

mod support;

use support::World;

#[tokio::test(flavor = "multi_thread")]
async fn first_run_delivers_every_event_in_order_then_a_rerun_delivers_nothing() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("apache").await;
    seeder.create_log_stream("apache", "web-1").await;
    let t = world.now - 60_000;
    let lines: Vec<(i64, String)> = (0..25)
        .map(|i| {
            (
                t + i,
                format!("10.0.0.{i} - - \"GET /index.html HTTP/1.1\" 200 {i}"),
            )
        })
        .collect();
    let events: Vec<(i64, &str)> = lines.iter().map(|(ts, m)| (*ts, m.as_str())).collect();
    seeder.put_events("apache", "web-1", &events).await;

    let run = world.one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "a successful run without --debug is silent");
    let received = world.wait_received(25);
    let expected: Vec<String> = lines.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(received, expected);

    let rows = world.reference_rows();
    assert_eq!(rows.len(), 1);
    let (region, group, stream, token, start, end) = &rows[0];
    assert_eq!(
        (region.as_str(), group.as_str(), stream.as_str()),
        ("us-east-1", "apache", "web-1")
    );
    assert!(token.is_some());
    assert_eq!(*start, Some(world.today()));
    assert_eq!(*end, Some(t + 24));

    // Nothing new: nothing sent, the checkpoint does not move.
    world
        .one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"])
        .expect_code(0);
    assert_eq!(world.received().len(), 25);
    assert_eq!(world.reference_rows(), rows);

    // New events only.
    seeder
        .put_events(
            "apache",
            "web-1",
            &[(t + 100, "late arrival"), (t + 101, "another")],
        )
        .await;
    world
        .one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"])
        .expect_code(0);
    let received = world.wait_received(27);
    assert_eq!(&received[25..], ["late arrival", "another"]);
}
