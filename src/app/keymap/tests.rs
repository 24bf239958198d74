use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn over(pairs: &[(&str, &[&str])]) -> crate::config::KeyOverrides {
    pairs
        .iter()
        .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
        .collect::<BTreeMap<_, _>>()
}

#[test]
fn an_override_replaces_the_actions_keys() {
    let map = Keymap::with_overrides(&over(&[("delete", &["D"])])).unwrap();
    let d = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT);
    assert_eq!(map.action(&d), Some(Action::Delete));
    let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    assert_eq!(map.action(&x), None);
    assert_eq!(map.keys(Bound::Main(Action::Delete)).len(), 1);
}

#[test]
fn unknown_action_suggests_the_nearest() {
    let err = Keymap::with_overrides(&over(&[("delte", &["x"])])).unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(
        err[0].contains("\"delte\"") && err[0].contains("\"delete\""),
        "{err:?}"
    );
    let err = check_overrides(&over(&[("half_pagedown", &["J"])])).unwrap_err();
    assert!(err[0].contains("half_page_down"), "{err:?}");
}

#[test]
fn a_bad_key_is_quoted() {
    let err = Keymap::with_overrides(&over(&[("delete", &["Ctrl-"])])).unwrap_err();
    assert!(err[0].contains("\"Ctrl-\""), "{err:?}");
}

#[test]
fn a_conflict_names_both_actions() {
    let err = Keymap::with_overrides(&over(&[("delete", &["d"])])).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("delete") && err[0].contains("download"),
        "{err:?}"
    );
    // Same key in two contexts is fine: `y` copies in the tree and says yes in a dialog.
    assert!(check_overrides(&over(&[("confirm.yes", &["o"])])).is_ok());
    let err = check_overrides(&over(&[("conflicts.skip", &["o"])])).unwrap_err();
    assert!(err[0].contains("conflicts.overwrite"), "{err:?}");
}

#[test]
fn defaults_have_no_conflict_and_every_binding_a_name() {
    assert_eq!(
        Keymap::with_overrides(&BTreeMap::new()),
        Ok(Keymap::default())
    );
    for (_, b) in DEFAULTS {
        assert_ne!(name_of(*b), "?");
    }
}

#[test]
fn the_readme_lists_every_action_name() {
    let readme = include_str!("../../../README.md");
    for (name, _) in names::NAMES {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README lacks `{name}`"
        );
    }
}

#[test]
fn a_keymap_that_cannot_quit_is_refused() {
    let err = Keymap::with_overrides(&over(&[("quit", &[]), ("force_quit", &[])])).unwrap_err();
    assert!(
        err.iter().any(|e| e.contains("could not be left")),
        "{err:?}"
    );
    // One of the two is enough.
    assert!(Keymap::with_overrides(&over(&[("quit", &[])])).is_ok());
}

#[test]
fn a_prompt_key_must_not_be_typed_text() {
    for bad in ["x", "S", "Shift-a", "1", "Space"] {
        let err = Keymap::with_overrides(&over(&[("prompt.submit", &[bad])])).unwrap_err();
        assert!(err[0].contains("typed text"), "{bad}: {err:?}");
    }
    for good in ["F5", "Ctrl-j", "Alt-x", "Enter"] {
        assert!(
            Keymap::with_overrides(&over(&[("prompt.submit", &[good])])).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn keys_a_terminal_sends_as_others_are_refused() {
    for (bad, as_) in [
        ("Ctrl-m", "Enter"),
        ("Ctrl-i", "Tab"),
        ("Ctrl-[", "Esc"),
        ("Ctrl-M", "Enter"),
    ] {
        let err = Keymap::with_overrides(&over(&[("refresh", &[bad])])).unwrap_err();
        assert!(
            err[0].contains(&format!("reaches filedeck as {as_}")),
            "{bad}: {err:?}"
        );
    }
}
