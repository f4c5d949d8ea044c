//! davit-agent's wire format as a library: the program (src/main.rs) and its fuzz targets (fuzz/) share it; and the
//! egress gate (gate/, issue 71), which the program runs as `davit-agent gate`.

pub mod frame;
pub mod gate;

/// What the fuzz target `frames` runs on one input, and the corpus test on each stored one: every frame the bytes
/// hold read in turn (an EXEC's, a FILE's, a SPAWN's, a PROC's and a SYNC's payload parsed too) until they end or break the format; it must never panic.
#[doc(hidden)]
pub fn read_all(data: &[u8]) {
    let mut r = data;
    while let Ok(Some(f)) = frame::read(&mut r) {
        if f.kind == frame::EXEC {
            let _ = frame::exec(&f.payload);
        }
        if f.kind == frame::FILE {
            let _ = frame::file(&f.payload);
        }
        if f.kind == frame::SPAWN {
            let _ = frame::spawn(&f.payload);
        }
        if f.kind == frame::PROC {
            let _ = frame::proc(&f.payload);
        }
        if f.kind == frame::RESIZE {
            let _ = frame::resize(&f.payload);
        }
        if f.kind == frame::SYNC {
            let _ = frame::sync(&f.payload);
        }
        let mut fields = frame::Fields::new(&f.payload);
        let _ = (fields.u32(), fields.bytes(), fields.list(0), fields.end());
    }
}
