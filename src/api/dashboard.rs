//! The dashboard page, embedded in the binary: HTML, a style sheet and a
//! plain script, no build step, nothing from the network. The page reads
//! only `/summary` and `/history` (of this rig and of the peers it is
//! given), and draws its chart itself on a canvas.

/// The page.
pub(super) const INDEX: &str = include_str!("dashboard/index.html");
/// Its script.
pub(super) const SCRIPT: &str = include_str!("dashboard/dashboard.js");
/// Its style.
pub(super) const STYLE: &str = include_str!("dashboard/dashboard.css");

/// Headers every dashboard answer carries.
pub(super) const HEADERS: &str =
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n";

/// The page's Content-Security-Policy: its own script and style only, no
/// inline code, and reads from itself and the `peers` it shows.
pub(super) fn content_security_policy(peers: &[String]) -> String {
    let mut connect = String::from("'self'");
    for p in peers {
        // Peers are checked `http(s)://host:port` when given; anything
        // that could break out of the directive is left out here too.
        if !p.contains([' ', ';', ',', '\'', '"', '\r', '\n']) {
            connect.push(' ');
            connect.push_str(p);
        }
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}
