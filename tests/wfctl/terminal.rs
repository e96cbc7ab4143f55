//! Text a workflow program wrote reaches the terminal only with its
//! control characters made visible.

use serde_json::Value;

use crate::helper::*;

/// A workflow program whose metadata, output and events carry terminal
/// escape sequences: ESC (CSI, OSC title), BEL, CR, backspace, a C1 CSI,
/// bidi overrides and isolates.
fn program_with_escape_sequences() -> String {
    workflow_script(
        r#"{"id":"escapes","name":"Esc\u001b]0;pwned\u0007apes","description":"clears\u001b[2J the screen\rFAKE \u202eevil\u009b31m","fields":[{"name":"word","label":"W\u001b[31m","description":"a\bb","cli_arg":"--word","required":false,"default":null,"field_type":{"type":"text"}}]}"#,
        r#"printf '\033[2Jcleared\033]0;title\007 over\rprinted \342\200\256hs.live \342\201\246iso\342\201\251\n'
printf '__WF_EVENT__:{"type":"phase_started","phase":0,"name":"p\\u001b[31m","total_phases":1}\n' >&2
printf '__WF_EVENT__:{"type":"task_started","phase":0,"task_id":"t1","description":"d\\u202eevil","total_tasks":1}\n' >&2
printf '__WF_EVENT__:{"type":"task_progress","task_id":"t1","message":"m\\u001b[1A\\u001b[2K"}\n' >&2
printf '__WF_EVENT__:{"type":"phase_failed","phase":0,"name":"p","error":"e\\u001b]52;c;aGk=\\u0007"}\n' >&2
exit 3"#,
    )
}

/// Whether `text` holds a character a terminal would act on (other than
/// the newlines that end lines and tabs): a control or a bidi control.
fn has_raw_control(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            )
    })
}

#[tokio::test]
async fn program_text_reaches_the_terminal_only_as_visible_escapes() {
    let daemon = Daemon::builder()
        .program("escapes.sh", program_with_escape_sequences())
        .start()
        .await;
    let addr = &daemon.addr;
    let run = wfctl(addr, &["run", "escapes", "--follow"]).await.expect(1);
    assert!(
        run.stdout.contains(
            "\\x1b[2Jcleared\\x1b]0;title\\x07 over\\x0dprinted \\u202ehs.live \\u2066iso\\u2069"
        ),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("phase_failed 0 p: e\\x1b]52;c;aGk=\\x07"),
        "{run:?}"
    );
    let id = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("wfctl: started execution "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the started note names the execution")
        .to_string();

    let mut outputs = vec![run];
    for args in [
        vec!["workflows", "list"],
        vec!["workflows", "describe", "escapes"],
        vec!["logs", &id],
        vec!["get", &id],
        vec!["list"],
        vec!["workflow", "-op", "watch", "-id", &id],
        vec!["manifest", "status", "-id", &id],
    ] {
        outputs.push(wfctl(addr, &args).await);
    }
    // JSON and YAML escape control characters themselves; JSON also the
    // C1 and bidi ones serde_json leaves alone, YAML shows the bidi ones
    // as text.
    for args in [
        vec!["-o", "json", "get", &id],
        vec!["-o", "json", "logs", &id],
        vec!["-o", "yaml", "get", &id],
        vec!["-o", "yaml", "logs", &id],
        vec!["-o", "yaml", "workflows", "describe", "escapes"],
    ] {
        outputs.push(wfctl(addr, &args).await.expect(0));
    }
    for run in &outputs {
        assert!(
            !has_raw_control(&run.stdout),
            "raw control on stdout: {run:?}"
        );
        assert!(
            !has_raw_control(&run.stderr),
            "raw control on stderr: {run:?}"
        );
    }
    let describe = &outputs[2];
    assert!(
        describe.stdout.contains("Esc\\x1b]0;pwned\\x07apes"),
        "{describe:?}"
    );
    assert!(
        describe
            .stdout
            .contains("clears\\x1b[2J the screen\\x0dFAKE \\u202eevil\\x9b31m"),
        "{describe:?}"
    );
    let get = &outputs[4];
    assert!(get.stdout.contains("d\\u202eevil"), "{get:?}");
    let json: Value = serde_json::from_str(&outputs[8].stdout).unwrap();
    assert_eq!(
        json["phases"][0]["tasks"][0]["description"],
        "d\u{202e}evil"
    );
    let yaml: Value = workflow_manager::yaml::from_str(&outputs[10].stdout).unwrap();
    assert_eq!(yaml["phases"][0]["tasks"][0]["description"], "d\\u202eevil");
    // The bidi controls read back as the text of their escapes.
    let printed = outputs[11]
        .stdout
        .split("---\n")
        .filter(|document| !document.trim().is_empty())
        .map(|document| workflow_manager::yaml::from_str::<Value>(document).unwrap())
        .find_map(|event| event["output"]["text"].as_str().map(str::to_string))
        .expect("the program's output line");
    assert_eq!(
        printed,
        "\x1b[2Jcleared\x1b]0;title\x07 over\rprinted \\u202ehs.live \\u2066iso\\u2069"
    );
    let describe: Value = workflow_manager::yaml::from_str(&outputs[12].stdout).unwrap();
    assert_eq!(
        describe["description"],
        "clears\x1b[2J the screen\rFAKE \\u202eevil\u{9b}31m"
    );
}
