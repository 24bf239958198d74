//! The application core: state, messages, the keymap and the pure `update`.
pub mod keymap;
pub mod marks;
pub mod msg;
pub mod state;
pub mod transfers;
pub mod tree;
pub mod update;

pub use msg::{Action, Command, Event, Msg, ReqId};
pub use state::State;
pub use update::{init, update};
