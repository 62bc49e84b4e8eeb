//! The pure core: phone numbers, codes, policy and the decisions about one verification.
//! Nothing here reads the clock, touches the disk or prints; `now` and randomness are parameters.

pub mod caller;
pub mod challenge;
pub mod channel;
pub mod code;
pub mod events;
mod formatting;
pub mod limits;
pub mod number_type;
pub mod outcome;
pub mod phone;
mod plan;
pub mod policy;
pub mod rate_limits;
pub mod region;
pub mod sign_in_limit;

pub use caller::{Caller, Privilege, Role};
pub use challenge::{Challenge, Gate, State};
pub use channel::Channel;
pub use code::{Code, CodeError};
pub use limits::Limits;
pub use number_type::{FixedLineChannel, NumberType, NumberTypeError};
pub use outcome::Outcome;
pub use phone::{PhoneError, PhoneNumber};
pub use policy::Policy;
pub use region::{Region, RegionError};
