//! Development delivery: shows the message on this terminal (stderr, so `--json` stdout stays
//! one object), under a banner that says no SMS was sent.

use std::io::Write;

use super::{Delivery, DeliveryError, Message, Receipt};

#[derive(Debug, Default)]
pub struct ConsoleDelivery;

impl Delivery for ConsoleDelivery {
    fn name(&self) -> &'static str {
        "console"
    }

    fn shows_codes_locally(&self) -> bool {
        true
    }

    fn deliver(&self, m: &Message<'_>) -> Result<Receipt, DeliveryError> {
        // A multi-line message (autofill lines) keeps the frame's left edge.
        let lines = zeroize::Zeroizing::new(m.text().expose().replace('\n', "\n│ "));
        let text = zeroize::Zeroizing::new(format!(
            "┌─ console delivery (development: nothing was sent) ─────────\n\
             │ to {} {}\n\
             │ {}\n\
             └────────────────────────────────────────────────────────────\n",
            m.to.masked(),
            m.channel.by_phrase(),
            lines.as_str()
        ));
        let mut err = std::io::stderr().lock();
        err.write_all(text.as_bytes())
            .and_then(|()| err.flush())
            .map_err(|e| DeliveryError::failed(format!("cannot write to the console: {e}")))?;
        Ok(Receipt {
            detail: "shown on the console".into(),
            ..Receipt::default()
        })
    }
}
