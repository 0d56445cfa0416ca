//! Whatever a hostile or broken pool sends (malformed, oversized and
//! out-of-range lines, and random ones), mining goes on and each is
//! noted.

use super::*;

/// Lines a hostile or broken pool might send.
fn hostile_lines() -> Vec<String> {
    let good_prev = "00".repeat(32);
    let notify = |params: Value| {
        json!({"id": null, "method": "mining.notify", "params": params}).to_string()
    };
    vec![
        "not json at all".into(),
        "{\"id\":".into(),
        "[]".into(),
        "null".into(),
        "{}".into(),
        r#"{"id":null,"method":"mining.set_difficulty","params":[0]}"#.into(),
        r#"{"id":null,"method":"mining.set_difficulty","params":[-5]}"#.into(),
        r#"{"id":null,"method":"mining.set_difficulty","params":["NaN"]}"#.into(),
        r#"{"id":null,"method":"mining.set_difficulty","params":[1e999]}"#.into(),
        r#"{"id":null,"method":"mining.set_difficulty","params":{}}"#.into(),
        r#"{"id":null,"method":"mining.set_extranonce","params":["00",0]}"#.into(),
        r#"{"id":null,"method":"mining.set_extranonce","params":["00",17]}"#.into(),
        r#"{"id":null,"method":"mining.set_extranonce","params":["zz",4]}"#.into(),
        r#"{"id":null,"method":"mining.set_version_mask","params":[12]}"#.into(),
        notify(json!([
            "j1",
            good_prev,
            "01",
            "02",
            ["00"],
            "20000000",
            "1d00ffff",
            "1",
            true
        ])),
        notify(json!([
            "j2",
            good_prev,
            "01",
            "02",
            [],
            "20000000",
            "1d80ffff",
            "1",
            true
        ])),
        notify(json!([
            "j3",
            "00",
            "01",
            "02",
            [],
            "20000000",
            "1d00ffff",
            "1",
            true
        ])),
        notify(json!([
            "j4",
            good_prev,
            "01",
            "02",
            [],
            "120000000",
            "1d00ffff",
            "1",
            true
        ])),
        notify(json!([
            "j5",
            good_prev,
            "01",
            "02",
            [],
            536870912,
            "1d00ffff",
            "1",
            true
        ])),
        notify(json!([
            "j6",
            good_prev,
            "01",
            "02",
            [],
            "20000000",
            "1d00ffff",
            "1",
            "yes"
        ])),
        notify(json!([
            "",
            good_prev,
            "01",
            "02",
            [],
            "20000000",
            "1d00ffff",
            "1",
            true
        ])),
        notify(json!([])),
        r#"{"id":123456,"result":true,"error":null}"#.into(),
        r#"{"id":-1,"result":true}"#.into(),
        r#"{"id":null,"method":42,"params":[]}"#.into(),
        r#"{"id":null,"method":"client.reconnect","params":[{},[],"x"]}"#.into(),
        "\u{1}\u{2}\u{7f}binary\u{0}garbage".into(),
    ]
}

#[test]
fn hostile_lines_never_stop_mining() {
    let (p, miner) = mining_on_a_default_pool();
    for line in hostile_lines() {
        p.broadcast(&line);
    }
    // Bytes that are not UTF-8, then more than the line limit: each resets
    // the connection, and the miner comes back.
    let (job, _) = p.notify(true);
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.accepted && j.params[1] == job.as_str())));
    assert_eq!(
        p.connections(),
        1,
        "ignored lines do not reset the connection"
    );
    p.broadcast(&"x".repeat(300 * 1024));
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.accepted && j.connection >= 2)));
    assert_all_accepted(&p);
    let notes = drain(&miner)
        .into_iter()
        .filter(|e| matches!(e, PoolEvent::Pool { change: PoolChange::Message(m), .. } if m.starts_with("ignored")))
        .count();
    assert!(notes >= 20, "{notes} ignored-message notes");
    miner.stop(Duration::from_secs(2));
}

#[test]
fn random_lines_never_stop_mining() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let (p, miner) = mining_on_a_default_pool();
    let methods = prop::sample::select(vec![
        "mining.notify",
        "mining.set_difficulty",
        "mining.set_extranonce",
        "mining.set_version_mask",
        "client.show_message",
        "mining.ping",
        "something.else",
    ]);
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[0-9a-f]{0,80}".prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    let params = prop::collection::vec(scalar, 0..12).prop_map(Value::from);
    let line = prop_oneof![
        (methods, params, prop::option::of(any::<u32>()))
            .prop_map(|(m, p, id)| { json!({"id": id, "method": m, "params": p}).to_string() }),
        ".{0,200}",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).replace('\n', " ")),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&line, |l| {
            p.broadcast(&l);
            Ok(())
        })
        .unwrap();
    // Whatever the random lines announced is put back the way the pool
    // judges, for the next job.
    p.set_extranonce(&Behaviour::default().extranonce1, 4);
    p.set_difficulty(Behaviour::default().difficulty);
    let (job, _) = p.notify(true);
    assert!(
        p.wait_for(WAIT, |p| p
            .judged()
            .iter()
            .any(|j| j.accepted && j.params[1] == job.as_str())),
        "mining stopped after random lines"
    );
    drop(drain(&miner));
    miner.stop(Duration::from_secs(2));
}
