pub async fn run(_ctx: crate::engine::Ctx, _readonly: bool) -> eyre::Result<()> {
    eyre::bail!("console not built yet")
}
