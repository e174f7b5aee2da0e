//! The emails' text: a subject, a plain-text part and an HTML part per kind of email.
//!
//! Plain `format!` templates, compiled with the crate: two short emails do not pay for a template engine's build
//! time. Every value put into the HTML goes through [`escape`].

use chrono::TimeDelta;
use latchkey_domain::EmailContent;

/// An email ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The parts hold single-use links and codes.
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Renders an email's content. Unknown kinds (added to the domain after this crate) get `None`.
pub fn render(content: &EmailContent) -> Option<Rendered> {
    match content {
        EmailContent::Verification {
            link,
            code,
            link_valid_for,
            code_valid_for,
        } => Some(verification(
            link.expose(),
            code.expose(),
            *link_valid_for,
            *code_valid_for,
        )),
        EmailContent::EmailChange {
            link,
            code,
            link_valid_for,
            code_valid_for,
        } => Some(email_change(
            link.expose(),
            code.expose(),
            *link_valid_for,
            *code_valid_for,
        )),
        EmailContent::EmailChangeNotice { new_address } => Some(email_change_notice(new_address)),
        EmailContent::PasswordReset { link, valid_for } => {
            Some(password_reset(link.expose(), *valid_for))
        }
        _ => None,
    }
}

fn verification(link: &str, code: &str, link_for: TimeDelta, code_for: TimeDelta) -> Rendered {
    let (link_for, code_for) = (duration(link_for), duration(code_for));
    let text = format!(
        "Confirm your email address\r\n\
         \r\n\
         Open this link and press the button to confirm your address (valid for {link_for}):\r\n\
         \r\n\
         {link}\r\n\
         \r\n\
         Or type this code where you signed up (valid for {code_for}):\r\n\
         \r\n\
         {code}\r\n\
         \r\n\
         If you did not create an account, ignore this email: nothing happens without the link or the code.\r\n"
    );
    let (link, code) = (escape(link), escape(code));
    let html = page(
        "Confirm your email address",
        &format!(
            "<p>Press the button on this page to confirm your address (the link is valid for {link_for}):</p>\
             <p><a href=\"{link}\">Confirm my email address</a></p>\
             <p>Or type this code where you signed up (valid for {code_for}):</p>\
             <p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{code}</strong></p>\
             <p>If you did not create an account, ignore this email: nothing happens without the link or the \
             code.</p>"
        ),
    );
    Rendered {
        subject: "Confirm your email address".to_owned(),
        text,
        html,
    }
}

fn email_change(link: &str, code: &str, link_for: TimeDelta, code_for: TimeDelta) -> Rendered {
    let (link_for, code_for) = (duration(link_for), duration(code_for));
    let text = format!(
        "Confirm your new email address\r\n\
         \r\n\
         Your account asked to use this address from now on. Open this link and press the button to confirm it \
         (valid for {link_for}):\r\n\
         \r\n\
         {link}\r\n\
         \r\n\
         Or type this code where you asked for the change (valid for {code_for}):\r\n\
         \r\n\
         {code}\r\n\
         \r\n\
         If you did not ask for this, ignore this email: the account keeps its current address.\r\n"
    );
    let (link, code) = (escape(link), escape(code));
    let html = page(
        "Confirm your new email address",
        &format!(
            "<p>Your account asked to use this address from now on. Press the button on this page to confirm it \
             (the link is valid for {link_for}):</p>\
             <p><a href=\"{link}\">Confirm my new address</a></p>\
             <p>Or type this code where you asked for the change (valid for {code_for}):</p>\
             <p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{code}</strong></p>\
             <p>If you did not ask for this, ignore this email: the account keeps its current address.</p>"
        ),
    );
    Rendered {
        subject: "Confirm your new email address".to_owned(),
        text,
        html,
    }
}

fn email_change_notice(new_address: &str) -> Rendered {
    let text = format!(
        "Your email address is about to change\r\n\
         \r\n\
         Someone signed in to your account asked to move it to {new_address}. The change happens only once that \
         address is confirmed.\r\n\
         \r\n\
         If this was not you, change your password now: that also ends every other session.\r\n"
    );
    let new_address = escape(new_address);
    let html = page(
        "Your email address is about to change",
        &format!(
            "<p>Someone signed in to your account asked to move it to <strong>{new_address}</strong>. The change \
             happens only once that address is confirmed.</p>\
             <p>If this was not you, change your password now: that also ends every other session.</p>"
        ),
    );
    Rendered {
        subject: "Your email address is about to change".to_owned(),
        text,
        html,
    }
}

fn password_reset(link: &str, valid_for: TimeDelta) -> Rendered {
    let valid_for = duration(valid_for);
    let text = format!(
        "Reset your password\r\n\
         \r\n\
         Open this link to choose a new password (valid for {valid_for}, once):\r\n\
         \r\n\
         {link}\r\n\
         \r\n\
         If you did not ask for this, ignore this email: your password stays as it is.\r\n"
    );
    let link = escape(link);
    let html = page(
        "Reset your password",
        &format!(
            "<p>Open this link to choose a new password (valid for {valid_for}, once):</p>\
             <p><a href=\"{link}\">Choose a new password</a></p>\
             <p>If you did not ask for this, ignore this email: your password stays as it is.</p>"
        ),
    );
    Rendered {
        subject: "Reset your password".to_owned(),
        text,
        html,
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em\"><h1>{title}</h1>{body}</body></html>"
    )
}

/// `24 hours`, `15 minutes`, `90 seconds`: the largest unit that divides the duration.
pub fn duration(delta: TimeDelta) -> String {
    let seconds = delta.num_seconds();
    let (amount, unit) = if seconds % 86_400 == 0 && seconds >= 172_800 {
        (seconds / 86_400, "day")
    } else if seconds % 3600 == 0 && seconds > 0 {
        (seconds / 3600, "hour")
    } else if seconds % 60 == 0 && seconds > 0 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural}")
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use latchkey_domain::PlainSecret;

    use super::*;

    #[test]
    fn verification_email_has_the_link_and_code_in_both_parts() {
        let rendered = render(&EmailContent::Verification {
            link: PlainSecret::new("https://x.test/verify-email?token=lkv_a&b"),
            code: PlainSecret::new("042133"),
            link_valid_for: TimeDelta::hours(24),
            code_valid_for: TimeDelta::minutes(15),
        })
        .unwrap();
        assert!(rendered
            .text
            .contains("https://x.test/verify-email?token=lkv_a&b"));
        assert!(rendered.text.contains("042133"));
        assert!(rendered.text.contains("24 hours") && rendered.text.contains("15 minutes"));
        assert!(rendered
            .html
            .contains("href=\"https://x.test/verify-email?token=lkv_a&amp;b\""));
        assert!(rendered.html.contains("042133"));
        assert!(!format!("{rendered:?}").contains("042133"));
    }

    #[test]
    fn email_change_emails_carry_the_link_and_code_or_the_masked_address() {
        let rendered = render(&EmailContent::EmailChange {
            link: PlainSecret::new("https://x.test/verify-email?token=lke_a"),
            code: PlainSecret::new("123456"),
            link_valid_for: TimeDelta::hours(24),
            code_valid_for: TimeDelta::minutes(15),
        })
        .unwrap();
        assert!(rendered.subject.contains("new email address"));
        for part in [&rendered.text, &rendered.html] {
            assert!(part.contains("lke_a") && part.contains("123456"), "{part}");
        }
        let notice = render(&EmailContent::EmailChangeNotice {
            new_address: "j***@<example>.org".to_owned(),
        })
        .unwrap();
        assert!(notice.text.contains("j***@<example>.org"));
        assert!(notice.html.contains("j***@&lt;example&gt;.org"));
        assert!(notice.text.contains("change your password"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(TimeDelta::minutes(15)), "15 minutes");
        assert_eq!(duration(TimeDelta::hours(1)), "1 hour");
        assert_eq!(duration(TimeDelta::days(1)), "24 hours");
        assert_eq!(duration(TimeDelta::days(3)), "3 days");
        assert_eq!(duration(TimeDelta::seconds(90)), "90 seconds");
    }
}
