//! The application core: state, messages, the keymap and the pure `update`.
pub mod corpus;
pub mod count;
pub mod filter;
mod flatten;
pub mod jump;
pub mod keymap;
pub mod layout;
pub mod look;
pub mod marks;
pub mod msg;
pub mod paste;
pub mod preview;
pub mod queue_view;
pub mod sort;
pub mod stamp;
pub mod state;
pub mod transfer_types;
pub mod tree;
pub mod update;

pub use msg::{Action, Command, Event, Msg, ReqId};
pub use state::State;
pub use update::{init, settle, update};
