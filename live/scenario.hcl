# The live experiment's cluster (make live, live/DESIGN.md): two nodes of
# four services each, replaying bundled real traces (demo/data, MIT; and
# ../shared/data: NAB CloudWatch, AGPL-3.0 data files; Google 2019 and
# Azure 2019 cluster aggregates, CC BY 4.0). Each node has 0.8 core (the
# services' cpu p95 sum to it: contention 1) and 1 GiB (their memory p95
# sum to about 0.8 GiB); every service has a memory series, since every real
# process uses memory and its client bids for it.
name        = "live"
epoch       = "5m"
days        = 0.5
warmup_days = 2
contention  = [1.0]
trace_dir   = ".."
sla_probes  = false # the services define no SLA probe: only the kernel's signals boost them
nodes       = ["node-a", "node-b"]

capacity "node-a" {
  cpu    = "800m"
  memory = "1GiB"
}
capacity "node-b" {
  cpu    = "800m"
  memory = "1GiB"
}

service "web" {
  class = "critical"
  node  = "node-a"
  series "cpu" {
    file = "../shared/data/nab/realKnownCause/nyc_taxi.csv"
    p95  = "250m"
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_mem"
    p95    = "320MiB"
  }
}

service "api" {
  class = "standard"
  node  = "node-a"
  series "cpu" {
    file   = "../shared/data/nab/realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv"
    p95    = "150m"
    offset = 1000
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_mem"
    p95    = "96MiB"
    offset = 2000
  }
}

service "search" {
  class = "standard"
  node  = "node-a"
  series "cpu" {
    file = "demo/data/ec2_cpu_utilization_ac20cd.csv"
    p95  = "200m"
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/azure_v2/vm_cpu_readings_month_aggregated_cpu_mem.csv"
    column = "assigned_mem"
    p95    = "280MiB"
  }
}

service "batch" {
  class = "batch"
  node  = "node-a"
  series "cpu" {
    file   = "../shared/data/nab/realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv"
    p95    = "200m"
    offset = 2000
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/azure_v2/vm_cpu_readings_month_aggregated_cpu_mem.csv"
    column = "assigned_mem"
    p95    = "128MiB"
    offset = 3000
  }
}

service "frontend" {
  class = "critical"
  node  = "node-b"
  series "cpu" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_cpu"
    p95    = "250m"
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_mem"
    p95    = "300MiB"
    offset = 5000
  }
}

service "worker" {
  class = "standard"
  node  = "node-b"
  series "cpu" {
    file   = "../shared/data/datacenter-traces-aggregated/azure_v2/vm_cpu_readings_month_aggregated_cpu_mem.csv"
    column = "cpu_usage"
    p95    = "200m"
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/azure_v2/vm_cpu_readings_month_aggregated_cpu_mem.csv"
    column = "assigned_mem"
    p95    = "128MiB"
    offset = 6000
  }
}

service "db" {
  class = "critical"
  node  = "node-b"
  series "cpu" {
    file = "demo/data/ec2_cpu_utilization_5f5533.csv"
    p95  = "150m"
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_assigned_mem"
    p95    = "320MiB"
    offset = 3000
  }
}

service "etl" {
  class = "batch"
  node  = "node-b"
  series "cpu" {
    file   = "../shared/data/nab/realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv"
    p95    = "200m"
    offset = 2000
  }
  series "memory" {
    file   = "../shared/data/datacenter-traces-aggregated/google2019/instance_usage_grouped_300_seconds_month.csv"
    column = "avg_assigned_mem"
    p95    = "96MiB"
    offset = 1000
  }
}
