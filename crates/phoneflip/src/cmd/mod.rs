//! One module per subcommand.

pub mod adopt;
pub mod bench;
pub mod cfgfmt;
pub mod check;
pub mod db;
pub mod dhcp;
pub mod doctor;
pub mod emulate;
pub mod firmware;
pub mod jobs;
pub mod name;
pub mod pbx;
pub mod phones;
pub mod plan;
pub mod rehearse;
pub mod render;
pub mod serve;
pub mod templates;

/// Reads a tftpd-hpa map file (`--map-file`), for the commands that read
/// a root kept in sub-folders the way tftpd-hpa serves it.
pub fn read_map_file(path: &std::path::Path) -> anyhow::Result<phoneflip_config::MapFile> {
    use anyhow::Context;
    let text = std::fs::read(path)
        .with_context(|| format!("reading the tftpd-hpa map file {}", path.display()))?;
    let text = String::from_utf8(text)
        .map_err(|_| anyhow::anyhow!("the map file {} is not UTF-8 text", path.display()))?;
    Ok(phoneflip_config::MapFile::parse(
        &path.display().to_string(),
        &text,
    )?)
}
