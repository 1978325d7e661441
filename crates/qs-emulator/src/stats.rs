//! Call counts and job concurrency figures per account, read by tests and
//! benchmarks through `GET /_emulator/stats`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::operation::Operation;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub calls: BTreeMap<Operation, u64>,
    pub throttled: BTreeMap<Operation, u64>,
    pub server_errors: BTreeMap<Operation, u64>,
    pub peak_concurrent_export_jobs: u64,
    pub peak_concurrent_import_jobs: u64,
    pub export_jobs_started: u64,
    pub import_jobs_started: u64,
    pub export_job_seconds: f64,
    pub max_export_job_seconds: f64,
    pub import_job_seconds: f64,
    pub max_import_job_seconds: f64,
    pub downloads: u64,
    pub downloads_dropped: u64,
    pub downloads_expired: u64,
}

impl Stats {
    pub fn export_job(&mut self, concurrent: u64, seconds: f64) {
        self.export_jobs_started += 1;
        self.peak_concurrent_export_jobs = self.peak_concurrent_export_jobs.max(concurrent);
        self.export_job_seconds += seconds;
        self.max_export_job_seconds = self.max_export_job_seconds.max(seconds);
    }
    pub fn import_job(&mut self, concurrent: u64, seconds: f64) {
        self.import_jobs_started += 1;
        self.peak_concurrent_import_jobs = self.peak_concurrent_import_jobs.max(concurrent);
        self.import_job_seconds += seconds;
        self.max_import_job_seconds = self.max_import_job_seconds.max(seconds);
    }
}
