//! What the terminal front-ends (the prompt and the kiosk) share, owned by neither: reading
//! lines from a terminal or a pipe with the input checks, lines with a deadline, the private
//! history, the rustyline helper (completion, hints), colour, and signal handling — and the
//! hidden line (a code read without echo) that the one-shot `verify` asks for.

pub mod helper;
pub mod hidden;
pub mod history;
pub mod input;
pub mod paint;
pub mod signals;
pub mod timed;
