//! Chat templates rendered by minijinja equal jinja2's renderings (the reference transformers
//! uses), fixture made by scripts/fixtures/chat_templates.py. Runs natively and under Node.

use serde::Deserialize;
use std::collections::BTreeMap;
use wasm_chord::chat_template::{render, ChatMessage};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Deserialize)]
struct Fixture {
    bos_token: String,
    eos_token: String,
    templates: BTreeMap<String, String>,
    conversations: Vec<Vec<ChatMessage>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    template: String,
    conversation: usize,
    add_generation_prompt: bool,
    expected: Option<String>,
    error: Option<String>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/chat/templates.json")).expect("fixture parses")
}

#[test]
fn renders_like_jinja2() {
    let f = fixture();
    let mut checked = 0;
    for c in &f.cases {
        let got = render(
            &f.templates[&c.template],
            &f.conversations[c.conversation],
            c.add_generation_prompt,
            &f.bos_token,
            &f.eos_token,
        );
        match (&c.expected, &c.error) {
            (Some(exp), _) => {
                assert_eq!(
                    got.as_ref().ok(),
                    Some(exp),
                    "{} conv {} agp {}: {got:?}",
                    c.template,
                    c.conversation,
                    c.add_generation_prompt
                );
            }
            (None, Some(msg)) => {
                let e = got.expect_err("jinja2 raised, so must we");
                assert_eq!(e.code(), "CHAT_TEMPLATE_ERROR");
                assert!(e.to_string().contains(msg.as_str()), "{e} vs {msg}");
            }
            (None, None) => panic!("bad fixture case"),
        }
        checked += 1;
    }
    assert!(checked >= 24);
    assert!(
        f.cases.iter().any(|c| c.error.is_some()),
        "fixture covers raise_exception"
    );
}

#[test]
fn syntax_errors_are_typed() {
    let e = render("{% for m in messages %}", &[], true, "", "").unwrap_err();
    assert_eq!(e.code(), "CHAT_TEMPLATE_ERROR");
}
