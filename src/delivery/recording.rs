//! A test double for the service's unit tests: a delivery that records messages in memory (or
//! fails as told). Compiled only under `cfg(test)`, so it never ships in the library.

use super::{Delivery, DeliveryError, Message, Receipt};
use crate::domain::Channel;

/// A delivery that records messages in memory, for unit tests of the service.
#[derive(Debug, Default)]
pub struct RecordingDelivery {
    pub sent: std::cell::RefCell<Vec<(String, Channel, String)>>,
    pub fail_with: std::cell::RefCell<Option<DeliveryError>>,
}

impl RecordingDelivery {
    /// The digits of the last code delivered to `e164`.
    pub fn last_code_for(&self, e164: &str) -> Option<String> {
        self.sent
            .borrow()
            .iter()
            .rev()
            .find(|(to, _, _)| to == e164)
            .map(|(_, _, code)| code.clone())
    }

    pub fn count(&self) -> usize {
        self.sent.borrow().len()
    }
}

impl Delivery for RecordingDelivery {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn deliver(&self, m: &Message<'_>) -> Result<Receipt, DeliveryError> {
        if let Some(e) = self.fail_with.borrow().clone() {
            return Err(e);
        }
        self.sent.borrow_mut().push((
            m.to.e164().to_string(),
            m.channel,
            m.code.expose_digits().to_string(),
        ));
        Ok(Receipt {
            detail: "recorded".into(),
            ..Receipt::default()
        })
    }
}
