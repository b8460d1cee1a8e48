//! `podsift brief --send` against a real SMTP server: aiosmtpd on
//! 127.0.0.1 with STARTTLS (a throwaway certificate) and AUTH, driven by
//! `tests/py/smtp_send.py` (a wrong password, a 550 refusal and a server
//! that vanishes leave the brief state unchanged; the next send delivers).

use crate::util::{copy_tree, python_script, real_model, repo, run, Model, TestDir};

/// Its text holds `<script>`, which must reach the HTML part escaped.
const HOSTILE: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:30.000\n<v Mallory &amp; Co>We tested &lt;script&gt;alert(1)&lt;/script&gt; and \"quotes\" &amp; ampersands in our compost heap temperature logs, which peaked at 68 degrees on day four.\n";

#[test]
fn brief_send_delivers_to_a_real_smtp_server_and_only_then_records() {
    if crate::util::python().is_none() {
        return;
    }
    let t = TestDir::new();
    real_model();
    copy_tree(&repo().join("tests/demo"), &t.path().join("pods"));
    t.create("pods/odd-show/hostile.vtt", HOSTILE);
    let (code, _, err) = run(t.command(Model::Real).args(["index", "pods"]));
    assert_eq!(code, 0, "{err}");
    let work = t.path().join("mail");
    std::fs::create_dir_all(&work).unwrap();
    python_script(
        "smtp_send.py",
        &[
            std::ffi::OsStr::new(env!("CARGO_BIN_EXE_podsift")),
            t.index().as_os_str(),
            work.as_os_str(),
        ],
    );
}
