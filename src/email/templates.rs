//! E-mail templates, embedded in the binary and rendered with minijinja.
//!
//! Each template has a text layout (`templates/email/NAME.txt`) and an HTML layout
//! (`templates/email/NAME.html`, HTML-escaped), shared by every language. The words live in
//! `templates/email/i18n/LANG.json`: per template, a subject and named sentences, each itself a small
//! template over the parameters. A sentence is rendered as plain text first, then placed in the
//! layouts, so a name in it is escaped exactly once in the HTML part.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use minijinja::{Environment, UndefinedBehavior, Value};

/// A language e-mail is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English, the fallback.
    En,
    /// Dutch.
    Nl,
    /// French.
    Fr,
    /// German.
    De,
}

impl Language {
    /// Every language templates are written in.
    pub const ALL: [Language; 4] = [Language::En, Language::Nl, Language::Fr, Language::De];

    /// The ISO 639-1 code.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
            Language::Fr => "fr",
            Language::De => "de",
        }
    }

    /// The language of a BCP 47 tag (`nl-BE` → Dutch), if templates exist in it.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == primary)
    }

    /// The first of `tags` templates exist in, else English.
    pub fn choose<'a>(tags: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        tags.into_iter()
            .flatten()
            .find_map(Self::from_tag)
            .unwrap_or(Language::En)
    }

    fn source(self) -> &'static str {
        match self {
            Language::En => include_str!("../../templates/email/i18n/en.json"),
            Language::Nl => include_str!("../../templates/email/i18n/nl.json"),
            Language::Fr => include_str!("../../templates/email/i18n/fr.json"),
            Language::De => include_str!("../../templates/email/i18n/de.json"),
        }
    }

    /// A date as people of this language write it in running text.
    pub fn format_date(self, date: NaiveDate) -> String {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const NL: [&str; 12] = [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ];
        const FR: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        const DE: [&str; 12] = [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ];
        let (d, m, y) = (date.day(), date.month0() as usize, date.year());
        match self {
            Language::En => format!("{d} {} {y}", EN[m]),
            Language::Nl => format!("{d} {} {y}", NL[m]),
            Language::Fr if d == 1 => format!("1er {} {y}", FR[m]),
            Language::Fr => format!("{d} {} {y}", FR[m]),
            Language::De => format!("{d}. {} {y}", DE[m]),
        }
    }

    /// A moment in UTC as people of this language write it in running text: the date, the time
    /// and the zone (`21 January 2027 at 10:00 UTC`), so "valid until" is exact wherever the
    /// reader is.
    pub fn format_date_time(self, at: NaiveDateTime) -> String {
        let date = self.format_date(at.date());
        let (h, m) = (at.hour(), at.minute());
        match self {
            Language::En => format!("{date} at {h:02}:{m:02} UTC"),
            Language::Nl => format!("{date} om {h:02}:{m:02} UTC"),
            Language::Fr => format!("{date} à {h:02} h {m:02} UTC"),
            Language::De => format!("{date} um {h:02}:{m:02} Uhr UTC"),
        }
    }
}

/// Escapes a URL for an HTML attribute (and text): only `&`, `<`, `>`, `"` and `'`, which HTML
/// needs escaped there; unlike the template engine's own escaping, `/` and `=` stay as they are, so
/// the `href` a mail client opens is the link itself.
fn href(value: &str) -> Value {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Value::from_safe_string(out)
}

/// The templates that exist: (name, text layout, HTML layout).
/// A reminder of an invitation has the invitation's layouts and words of its own.
const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "invitation",
        include_str!("../../templates/email/invitation.txt"),
        include_str!("../../templates/email/invitation.html"),
    ),
    (
        "invitation_reminder",
        include_str!("../../templates/email/invitation.txt"),
        include_str!("../../templates/email/invitation.html"),
    ),
    (
        "sign_in_code",
        include_str!("../../templates/email/sign_in_code.txt"),
        include_str!("../../templates/email/sign_in_code.html"),
    ),
];

/// A rendered message, before it is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No template has this name.
    #[error("there is no e-mail template {0:?}")]
    Unknown(String),
    /// The template needs a parameter that is missing or malformed, or is itself broken.
    #[error("the e-mail template {template:?} ({language}) cannot be rendered: {detail}")]
    Render {
        /// The template.
        template: String,
        /// The language.
        language: &'static str,
        /// What went wrong.
        detail: String,
    },
}

type Strings = BTreeMap<String, BTreeMap<String, String>>;

/// The embedded templates, parsed once.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    strings: BTreeMap<&'static str, Strings>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::embedded()
    }
}

impl Templates {
    /// The templates compiled into the binary. Panics only if an embedded file is broken, which the
    /// unit tests rule out.
    pub fn embedded() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.add_filter("href", |v: String| href(&v));
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        for (name, text, html) in TEMPLATES {
            env.add_template_owned(format!("{name}.txt"), *text)
                .expect("embedded text template parses");
            env.add_template_owned(format!("{name}.html"), *html)
                .expect("embedded HTML template parses");
        }
        let strings = Language::ALL
            .into_iter()
            .map(|l| {
                let parsed: Strings =
                    serde_json::from_str(l.source()).expect("embedded strings are JSON");
                (l.as_str(), parsed)
            })
            .collect();
        Self { env, strings }
    }

    /// The names of every template.
    pub fn names() -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().map(|(n, _, _)| *n)
    }

    /// Renders `template` in `language` with `params` (a JSON object). A parameter `expires_at`
    /// (RFC 3339) also gives `expires_on`, the date written the language's way, and
    /// `expires_until`, the date, time and zone (UTC).
    pub fn render(
        &self,
        template: &str,
        language: Language,
        params: &serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        if !Self::names().any(|n| n == template) {
            return Err(TemplateError::Unknown(template.to_owned()));
        }
        let fail = |detail: String| TemplateError::Render {
            template: template.to_owned(),
            language: language.as_str(),
            detail,
        };
        let mut ctx: BTreeMap<String, Value> = match params {
            serde_json::Value::Object(map) => {
                map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()
            }
            serde_json::Value::Null => BTreeMap::new(),
            _ => return Err(fail("the parameters must be a JSON object".into())),
        };
        if let Some(at) = params.get("expires_at").and_then(|v| v.as_str()) {
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| fail("expires_at must be an RFC 3339 time".into()))?;
            let utc = at.naive_utc();
            ctx.insert(
                "expires_on".into(),
                Value::from(language.format_date(utc.date())),
            );
            ctx.insert(
                "expires_until".into(),
                Value::from(language.format_date_time(utc)),
            );
        }
        ctx.insert("lang".into(), Value::from(language.as_str()));
        let sentences = self
            .strings
            .get(language.as_str())
            .and_then(|s| s.get(template))
            .ok_or_else(|| fail("no strings in this language".into()))?;
        let mut t = BTreeMap::new();
        for (key, source) in sentences {
            let text = self
                .env
                .render_str(source, Value::from(ctx.clone()))
                .map_err(|e| fail(format!("{key}: {e}")))?;
            t.insert(key.clone(), Value::from(text));
        }
        let subject = t
            .get("subject")
            .map(|v| v.to_string())
            .ok_or_else(|| fail("no subject".into()))?;
        ctx.insert("subject".into(), Value::from(subject.clone()));
        ctx.insert("t".into(), Value::from(t));
        let render = |suffix: &str| {
            self.env
                .get_template(&format!("{template}.{suffix}"))
                .and_then(|tpl| tpl.render(Value::from(ctx.clone())))
                .map_err(|e| fail(e.to_string()))
        };
        Ok(Rendered {
            subject,
            text: render("txt")?,
            html: render("html")?,
        })
    }
}

/// A JSON value as a template value.
fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => Value::from(f),
            (None, None) => Value::from(n.to_string()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(to_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> serde_json::Value {
        serde_json::json!({
            "given_name": "Zoë <b>",
            "account_name": "Acme & Co",
            "accept_url": "https://app.example.com/accept?i=1&n=2",
            "expires_at": "2027-01-21T10:00:00Z",
        })
    }

    #[test]
    fn every_language_has_every_sentence_of_english() {
        let t = Templates::embedded();
        for template in Templates::names() {
            let en: Vec<_> = t.strings["en"][template].keys().collect();
            for l in Language::ALL {
                let keys: Vec<_> = t.strings[l.as_str()][template].keys().collect();
                assert_eq!(keys, en, "{template} in {}", l.as_str());
            }
        }
    }

    #[test]
    fn invitation_renders_in_every_language_escaped_once() {
        let t = Templates::embedded();
        let expected = [
            (
                Language::En,
                "Acme & Co invites you to MobieTrain",
                "21 January 2027",
            ),
            (
                Language::Nl,
                "Acme & Co nodigt je uit voor MobieTrain",
                "21 januari 2027",
            ),
            (
                Language::Fr,
                "Acme & Co vous invite à rejoindre MobieTrain",
                "21 janvier 2027",
            ),
            (
                Language::De,
                "Acme & Co lädt Sie zu MobieTrain ein",
                "21. Januar 2027",
            ),
        ];
        for (l, subject, date) in expected {
            let date_time = match l {
                Language::En => "21 January 2027 at 10:00 UTC",
                Language::Nl => "21 januari 2027 om 10:00 UTC",
                Language::Fr => "21 janvier 2027 à 10 h 00 UTC",
                Language::De => "21. Januar 2027 um 10:00 Uhr UTC",
            };
            let r = t.render("invitation", l, &params()).unwrap();
            assert_eq!(r.subject, subject);
            assert!(r.text.contains("Zoë <b>,"), "{}", r.text);
            assert!(r.text.contains(date), "{}", r.text);
            assert!(r.text.contains(date_time), "{}", r.text);
            assert!(r.text.contains("https://app.example.com/accept?i=1&n=2"));
            assert!(r.html.contains("Zoë &lt;b&gt;,"), "{}", r.html);
            assert!(r.html.contains("Acme &amp; Co"));
            assert!(!r.html.contains("&amp;amp;"));
            assert!(r.html.contains(&format!("lang=\"{}\"", l.as_str())));
            // Only what HTML needs escaped is: `&` in the attribute, never `/` or `=`.
            assert!(
                r.html
                    .contains("href=\"https://app.example.com/accept?i=1&amp;n=2\""),
                "{}",
                r.html
            );
            assert!(!r.html.contains("&#x2f;") && !r.html.contains("&#x3d;"));
        }
    }

    #[test]
    fn the_reminder_renders_in_every_language_with_the_days_left() {
        let t = Templates::embedded();
        let mut p = params();
        p["days_left"] = serde_json::json!(7);
        for (l, subject, days) in [
            (
                Language::En,
                "Reminder: Acme & Co invites you to MobieTrain",
                "in 7 days",
            ),
            (
                Language::Nl,
                "Herinnering: Acme & Co nodigt je uit voor MobieTrain",
                "over 7 dagen",
            ),
            (
                Language::Fr,
                "Rappel : Acme & Co vous invite à rejoindre MobieTrain",
                "dans 7 jours",
            ),
            (
                Language::De,
                "Erinnerung: Acme & Co lädt Sie zu MobieTrain ein",
                "in 7 Tagen",
            ),
        ] {
            let r = t.render("invitation_reminder", l, &p).unwrap();
            assert_eq!(r.subject, subject);
            assert!(r.text.contains(days), "{}", r.text);
            assert!(r.text.contains("https://app.example.com/accept?i=1&n=2"));
        }
    }

    #[test]
    fn a_missing_parameter_is_an_error_not_a_blank() {
        let t = Templates::embedded();
        let err = t
            .render(
                "invitation",
                Language::En,
                &serde_json::json!({"account_name": "A"}),
            )
            .unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        assert!(matches!(
            t.render("nope", Language::En, &params()),
            Err(TemplateError::Unknown(_))
        ));
    }

    #[test]
    fn languages_from_tags() {
        assert_eq!(Language::from_tag("nl-BE"), Some(Language::Nl));
        assert_eq!(Language::from_tag("FR_be"), Some(Language::Fr));
        assert_eq!(Language::from_tag("es"), None);
        assert_eq!(
            Language::choose([Some("es"), None, Some("de-AT")]),
            Language::De
        );
        assert_eq!(Language::choose([Some("es")]), Language::En);
        assert_eq!(
            Language::Fr.format_date(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()),
            "1er mars 2027"
        );
    }
}
