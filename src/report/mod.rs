//! What people read: `report.html` with its PNG charts (`page`, `charts`)
//! and the text printed in the terminal (`text`, `model`). Every file it
//! renders is read through `results`.

pub mod charts;
pub mod hpa;
pub mod model;
pub mod page;
pub mod slo;
pub mod text;
