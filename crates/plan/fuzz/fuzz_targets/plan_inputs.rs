//! The planner's user inputs: `--from`/`--to` strings and the file names
//! of a TFTP root. Whatever they are, planning must return Ok or a clear
//! error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_plan::{plan, Catalogue, Endpoint};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let from = parts.next().unwrap_or_default();
    let to = parts.next().unwrap_or_default();
    let catalogue = Catalogue::from_file_names(parts);
    if let (Ok(from), Ok(to)) = (from.parse::<Endpoint>(), to.parse::<Endpoint>()) {
        if let Ok(p) = plan(from, to, None, &catalogue) {
            let _ = p.render_text();
        }
    }
});
