//! ListExecutions: newest first, filters (workflow, states, labels, time
//! range) and paging without duplicates or misses.

use workflow_manager::pb;

use crate::helper::*;

/// Ids of a page of executions.
fn ids(executions: &[pb::Execution]) -> Vec<String> {
    executions.iter().map(|e| e.id.clone()).collect()
}

/// Ids of the given executions, newest (last created) first.
fn newest_first(executions: &[&pb::Execution]) -> Vec<String> {
    executions.iter().rev().map(|e| e.id.clone()).collect()
}

/// Pages through ListExecutions with `req` and returns every page's ids.
async fn pages(daemon: &Daemon, mut req: pb::ListExecutionsRequest) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page = daemon.list_executions(req.clone()).await;
        pages.push(ids(&page.executions));
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 20, "paging does not end: {pages:?}");
        req.page_token = page.next_page_token;
    }
}

/// One execution to create: workflow, inputs, labels.
type Planned<'a> = (
    &'a str,
    &'a [(&'a str, prost_types::Value)],
    &'a [(&'a str, &'a str)],
);

fn filter() -> pb::ListExecutionsRequest {
    pb::ListExecutionsRequest {
        page_size: 100,
        ..Default::default()
    }
}

#[tokio::test]
async fn list_executions_filters_and_pages_newest_first() {
    let daemon = Daemon::start().await;
    // Each runs to its end before the next is created, so create times differ.
    let plan: [Planned<'_>; 5] = [
        ("hello", &[], &[("batch", "a"), ("n", "1")]),
        ("hello", &[], &[("batch", "a"), ("n", "2")]),
        (
            "sleeper",
            &[
                ("seconds", prost_types::Value::from(0.0)),
                ("exit_code", prost_types::Value::from(3.0)),
            ],
            &[("batch", "b")],
        ),
        ("hello", &[], &[("batch", "b")]),
        (
            "sleeper",
            &[("seconds", prost_types::Value::from(0.0))],
            &[("batch", "a"), ("n", "5")],
        ),
    ];
    let mut created = Vec::new();
    for (workflow, inputs, tags) in plan {
        let mut req = request(workflow, inputs);
        req.labels = labels(tags);
        let exec = daemon.execute_request(req).await;
        daemon.run_to_end(&exec.id).await;
        created.push(daemon.get(&exec.id).await);
    }
    let [e1, e2, e3, e4, e5] = [
        &created[0],
        &created[1],
        &created[2],
        &created[3],
        &created[4],
    ];
    let times: Vec<i128> = created
        .iter()
        .map(|e| nanos(e.create_time.as_ref().unwrap()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "create times increase: {times:?}"
    );

    // Everything, newest first, without the tree.
    let all = daemon.list_executions(filter()).await;
    assert_eq!(ids(&all.executions), newest_first(&[e1, e2, e3, e4, e5]));
    assert!(all.next_page_token.is_empty());
    for listed in &all.executions {
        assert!(
            listed.phases.is_empty(),
            "ListExecutions leaves the tree out"
        );
        let full = created.iter().find(|e| e.id == listed.id).unwrap();
        assert_eq!(
            (listed.state, &listed.labels, &listed.workflow_id),
            (full.state, &full.labels, &full.workflow_id)
        );
    }

    let by_workflow = pb::ListExecutionsRequest {
        workflow_id: "hello".into(),
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(by_workflow).await.executions),
        newest_first(&[e1, e2, e4])
    );

    let failed = pb::ListExecutionsRequest {
        states: vec![ExecutionState::Failed as i32],
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(failed).await.executions),
        newest_first(&[e3])
    );
    let either = pb::ListExecutionsRequest {
        states: vec![
            ExecutionState::Failed as i32,
            ExecutionState::Succeeded as i32,
        ],
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(either).await.executions),
        newest_first(&[e1, e2, e3, e4, e5])
    );
    let running = pb::ListExecutionsRequest {
        states: vec![ExecutionState::Running as i32],
        ..filter()
    };
    assert!(daemon.list_executions(running).await.executions.is_empty());

    let batch_a = pb::ListExecutionsRequest {
        labels: labels(&[("batch", "a")]),
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(batch_a).await.executions),
        newest_first(&[e1, e2, e5])
    );
    let both_labels = pb::ListExecutionsRequest {
        labels: labels(&[("batch", "a"), ("n", "2")]),
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(both_labels).await.executions),
        newest_first(&[e2])
    );
    let no_match = pb::ListExecutionsRequest {
        labels: labels(&[("batch", "c")]),
        ..filter()
    };
    assert!(daemon.list_executions(no_match).await.executions.is_empty());

    // The time range: after is inclusive, before is exclusive.
    let after = pb::ListExecutionsRequest {
        create_time_after: e3.create_time,
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(after).await.executions),
        newest_first(&[e3, e4, e5])
    );
    let before = pb::ListExecutionsRequest {
        create_time_before: e3.create_time,
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(before).await.executions),
        newest_first(&[e1, e2])
    );
    let window = pb::ListExecutionsRequest {
        create_time_after: e2.create_time,
        create_time_before: e4.create_time,
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(window).await.executions),
        newest_first(&[e2, e3])
    );

    // Filters combine with AND.
    let combined = pb::ListExecutionsRequest {
        workflow_id: "hello".into(),
        labels: labels(&[("batch", "a")]),
        create_time_after: e2.create_time,
        ..filter()
    };
    assert_eq!(
        ids(&daemon.list_executions(combined).await.executions),
        newest_first(&[e2])
    );

    // Paging.
    let paged = pages(
        &daemon,
        pb::ListExecutionsRequest {
            page_size: 2,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        paged,
        vec![
            newest_first(&[e4, e5]),
            newest_first(&[e2, e3]),
            newest_first(&[e1])
        ]
    );
    let paged_hello = pages(
        &daemon,
        pb::ListExecutionsRequest {
            page_size: 2,
            workflow_id: "hello".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        paged_hello,
        vec![newest_first(&[e2, e4]), newest_first(&[e1])]
    );
}

#[tokio::test]
async fn paging_is_stable_while_new_executions_arrive() {
    let daemon = Daemon::start().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let exec = daemon
            .execute("hello", &[("name", text(&format!("n{i}")))])
            .await;
        daemon.run_to_end(&exec.id).await;
        created.push(exec.id);
    }
    let first = daemon
        .list_executions(pb::ListExecutionsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await;
    assert_eq!(
        ids(&first.executions),
        [created[4].clone(), created[3].clone()]
    );

    // A new execution between two pages shifts nothing that was paged past.
    let newer = daemon.execute("hello", &[]).await;
    daemon.run_to_end(&newer.id).await;

    let mut seen: Vec<String> = ids(&first.executions);
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = daemon
            .list_executions(pb::ListExecutionsRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await;
        seen.extend(ids(&page.executions));
        token = page.next_page_token;
        assert!(seen.len() <= 10, "paging does not end: {seen:?}");
    }
    let expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "no duplicate and no miss across pages");
}
