//! Common accelerators: memory and a typical on-demand price per accelerator
//! hour (one accelerator with its share of host), with the price's source.
//! Prices are list prices in us-east-1 / us-central1 in 2026 and only
//! illustrate: a policy's own `cost` always wins.

#[derive(Debug, Clone, Copy)]
pub struct Accelerator {
    pub name: &'static str,
    pub memory_gib: u32,
    /// Micro-dollars per accelerator-hour, if a public list price exists.
    pub price_per_hour: Option<i64>,
    pub source: &'static str,
}

const fn acc(
    name: &'static str,
    memory_gib: u32,
    price: Option<i64>,
    source: &'static str,
) -> Accelerator {
    Accelerator {
        name,
        memory_gib,
        price_per_hour: price,
        source,
    }
}

pub static ACCELERATORS: &[Accelerator] = &[
    acc(
        "nvidia-t4",
        16,
        Some(526_000),
        "AWS g4dn.xlarge on-demand, $0.526/h",
    ),
    acc(
        "nvidia-l4",
        24,
        Some(804_800),
        "AWS g6.xlarge on-demand, $0.8048/h",
    ),
    acc(
        "nvidia-a10g",
        24,
        Some(1_006_000),
        "AWS g5.xlarge on-demand, $1.006/h",
    ),
    acc(
        "nvidia-l40s",
        48,
        Some(1_861_000),
        "AWS g6e.xlarge on-demand, $1.861/h",
    ),
    acc(
        "nvidia-a100-40gb",
        40,
        Some(3_673_000),
        "GCP a2-highgpu-1g on-demand, about $3.67/h",
    ),
    acc(
        "nvidia-a100-80gb",
        80,
        Some(5_070_000),
        "GCP a2-ultragpu-1g on-demand, about $5.07/h",
    ),
    acc(
        "nvidia-h100-80gb",
        80,
        Some(11_060_000),
        "GCP a3-highgpu-1g on-demand, about $11.06/h",
    ),
    acc("nvidia-h200", 141, None, "no single-GPU list price"),
    acc("amd-mi300x", 192, None, "no single-GPU list price"),
    acc(
        "aws-inferentia2",
        32,
        Some(758_200),
        "AWS inf2.xlarge on-demand, $0.7582/h",
    ),
    acc(
        "google-tpu-v5e",
        16,
        Some(1_200_000),
        "GCP TPU v5e, $1.20 per chip-hour",
    ),
];

pub fn find(name: &str) -> Option<&'static Accelerator> {
    ACCELERATORS.iter().find(|a| a.name == name)
}
