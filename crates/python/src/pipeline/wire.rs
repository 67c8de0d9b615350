//! The pipeline config as it crosses from Python: a document (a dict, or a TOML/JSON file's
//! table, as JSON text) read by the engine's one schema,
//! [`wintermute_engine::pipeline::config::PipelineSettings`], which checks it and fills the
//! defaults. Nothing is checked here: these functions convert, call, and map the error.

use std::path::PathBuf;

use pyo3::prelude::*;
use wintermute_engine::pipeline::config::{ConfigError, LimitsSettings, PipelineSettings};
use wintermute_engine::pipeline::{available_cores, PipelineConfig};
use wintermute_engine::risk::AccountLimits;

use crate::errors::{Error, Result};

/// The engine's config from a document (a resolved one: `EngineConfig.to_json`).
pub(crate) fn parse(document: &str) -> Result<PipelineConfig, ConfigError> {
    PipelineSettings::from_json(document)?.to_config(available_cores(), None)
}

/// An account's limits from a limits table; errors name keys under `key`.
pub(crate) fn limits(document: &str, key: &str) -> Result<AccountLimits, ConfigError> {
    Ok(LimitsSettings::from_json(document, key)?.limits())
}

/// Checks a config document and fills in the defaults for a machine of `cores` cores (this
/// machine's if None); relative paths are taken against `base_dir`. Returns the core count
/// and the resolved document as JSON (what `wintermute.config.EngineConfig` shows).
#[pyfunction]
#[pyo3(signature = (document, cores=None, base_dir=None))]
pub(crate) fn pipeline_config(
    document: &str,
    cores: Option<i64>,
    base_dir: Option<PathBuf>,
) -> Result<(usize, String)> {
    // A negative count is out of range like 0 (the schema says so, naming `cores`).
    let cores = cores.map_or_else(available_cores, |c| usize::try_from(c).unwrap_or(0));
    let resolved = PipelineSettings::from_json(document)?.resolve(cores, base_dir.as_deref())?;
    Ok((cores, serde_json::to_string(&resolved).map_err(|e| Error::type_error(e.to_string()))?))
}

/// Checks a limits table (JSON text); errors name keys under `key`. Returns it as the engine
/// enforces it ([`LimitsSettings::canonical`]), as JSON with every key present (`null`: no
/// limit).
#[pyfunction]
pub(crate) fn limits_config(document: &str, key: &str) -> Result<String> {
    let limits = LimitsSettings::from_json(document, key)?.canonical();
    serde_json::to_string(&limits).map_err(|e| Error::type_error(e.to_string()))
}

/// Limits in the engine's JSON form (a journal control record's `limits`) as a limits table,
/// every key present (`null`: no limit); errors name `key`.
#[pyfunction]
pub(crate) fn limits_config_of_engine(document: &str, key: &str) -> Result<String> {
    let limits = LimitsSettings::from_limits_json(document, key)?;
    serde_json::to_string(&limits).map_err(|e| Error::type_error(e.to_string()))
}
