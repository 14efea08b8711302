import journal from './meta/_journal.json';
import m0000 from './0000_shard_init.sql';
import m0001 from './0001_pools.sql';
import m0002 from './0002_wake_index.sql';
import m0003 from './0003_dispatch_misses.sql';
import m0004 from './0004_lean_indexes.sql';
import m0005 from './0005_retention.sql';
import m0006 from './0006_index_databases.sql';
import m0007 from './0007_account_limits.sql';
import m0008 from './0008_job_controls.sql';
import m0009 from './0009_callbacks.sql';
import m0010 from './0010_metric_minutes.sql';
import m0011 from './0011_pause_run_patch.sql';
import m0012 from './0012_keys_across_growth.sql';
import m0013 from './0013_latest_attempt_in_job.sql';
import m0014 from './0014_begun_in_row.sql';
import m0015 from './0015_trace_context.sql';
import m0016 from './0016_index_watermark.sql';
import m0017 from './0017_issue18.sql';
import m0018 from './0018_dependencies.sql';
import m0019 from './0019_metric_hours_totals.sql';
import m0020 from './0020_hardening.sql';
import m0021 from './0021_retention_sweep.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005,
m0006,
m0007,
m0008,
m0009,
m0010,
m0011,
m0012,
m0013,
m0014,
m0015,
m0016,
m0017,
m0018,
m0019,
m0020,
m0021
    }
  }
  