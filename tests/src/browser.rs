//! Headless Chromium driven over the W3C WebDriver protocol (Debian's `chromium` and `chromium-driver`), with a
//! few calls of our own over awc: enough to open a page, fill a field, press a button and read the result, as a
//! person would.
//!
//! [`Browser::launch`] returns `None` (after saying why) when the browser or driver is missing, unless `CI=true`,
//! where a missing browser fails the test.

#![forbid(unsafe_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where Debian installs them.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end when this is dropped.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session with a fresh profile.
    ///
    /// # Panics
    /// When the browser or driver is missing and `CI=true`, or when either fails to start.
    pub async fn launch() -> Option<Self> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(program).exists() {
                let message =
                    format!("{program} is missing (apt-get install chromium chromium-driver)");
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("{message}; CI=true requires it");
                }
                eprintln!("skipped: {message}");
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = browser.call("GET", "/status", None).await;
            if ready.is_ok_and(|status| status["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .chain([format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        )])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let session = browser
            .call("POST", "/session", Some(capabilities))
            .await
            .expect("a browser session");
        browser.session = session["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let method = awc::http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let request = client.request(method, format!("{}{path}", self.base));
        let mut response = match body {
            Some(body) => request.send_json(&body).await,
            None => request.send().await,
        }
        .map_err(|e| e.to_string())?;
        let value: Value = response
            .json()
            .limit(32 << 20)
            .await
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(value)
        } else {
            Err(format!("{path}: {}", value["value"]))
        }
    }

    async fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .await
            .unwrap_or_else(|error| panic!("webdriver: {error}"))
    }

    /// Opens a URL and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({"url": url})))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.session_call("GET", "/url", None).await["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, selector: &str) -> Element {
        let found = self
            .session_call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await;
        match found["value"][ELEMENT].as_str() {
            Some(reference) => Element(reference.to_owned()),
            None => {
                let source = self.session_call("GET", "/source", None).await;
                panic!(
                    "no element {selector} ({found}) on {}: {}",
                    self.url().await,
                    source["value"]
                );
            }
        }
    }

    /// The element a `<label>` with this text is for: what a person finds a field by.
    pub async fn field_labelled(&self, label: &str) -> Element {
        let labels = self
            .session_call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": "label"})),
            )
            .await;
        for reference in labels["value"].as_array().cloned().unwrap_or_default() {
            let element = Element(reference[ELEMENT].as_str().unwrap_or_default().to_owned());
            if self.text(&element).await == label {
                let target = self
                    .session_call(
                        "GET",
                        &format!("/element/{}/attribute/for", element.0),
                        None,
                    )
                    .await;
                let id = target["value"].as_str().expect("the label names its field");
                return self.find(&format!("#{id}")).await;
            }
        }
        panic!("no field labelled {label:?}");
    }

    /// Types into a field.
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.session_call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks a button that submits a form, and waits until the page it was on is gone (its elements stale), so
    /// what is read next is the page the form led to; WebDriver's own click does not wait for that.
    pub async fn click(&self, element: &Element) {
        self.session_call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
        let probe = format!("/session/{}/element/{}/name", self.session, element.0);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.call("GET", &probe, None).await {
                // The old document is gone: the element is stale, or (while the new page loads, on a busy machine)
                // the driver reports the old frame or context as gone, or the old node as no longer in the
                // document (Chromium 156's inspector error).
                Err(error)
                    if [
                        "stale element",
                        "no such element",
                        "detached",
                        "execution context",
                        "does not belong to the document",
                    ]
                    .iter()
                    .any(|gone| error.contains(gone)) =>
                {
                    return
                }
                Err(error) => panic!("webdriver: {error}"),
                Ok(_) => {}
            }
            assert!(Instant::now() < deadline, "the form was not submitted");
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The rendered text of an element.
    pub async fn text(&self, element: &Element) -> String {
        self.session_call("GET", &format!("/element/{}/text", element.0), None)
            .await["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The rendered text of the page's `<main>`.
    pub async fn main_text(&self) -> String {
        let main = self.find("main").await;
        self.text(&main).await
    }

    /// A computed CSS property of an element.
    pub async fn css(&self, element: &Element, property: &str) -> String {
        self.session_call(
            "GET",
            &format!("/element/{}/css/{property}", element.0),
            None,
        )
        .await["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG screenshot of the page.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let shot = self.session_call("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["value"].as_str().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; killing the driver would leave it running.
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async {
                    let _ = awc::Client::default().delete(url).send().await;
                });
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
