//! Choosing the compute device at run time among the backends compiled in.
//!
//! `Auto` tries CUDA (when built with `cuda`), then Metal (with `metal`), and
//! falls back to the CPU with a warning for the caller to print: a `cuda`
//! build on a machine without a GPU still works. An explicit `cuda`/`metal`
//! fails with a clear error when the build lacks the feature or no device
//! answers. (`candle_core::utils::cuda_is_available()` is only a compile-time
//! flag, so opening the device is the real test.)

use candle_core::Device;

use crate::error::{Error, Result, Setting};

/// The device the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A GPU if one is compiled in and opens, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device by ordinal.
    Cuda(usize),
    /// Apple Metal.
    Metal,
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => DeviceChoice::Auto,
            "cpu" => DeviceChoice::Cpu,
            "cuda" => DeviceChoice::Cuda(0),
            "metal" => DeviceChoice::Metal,
            other => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
                Some(n) => DeviceChoice::Cuda(n),
                None => {
                    return Err(Error::setting(
                        Setting::Device,
                        format!("'{other}' is not one of auto, cpu, cuda, cuda:N, metal"),
                    ))
                }
            },
        })
    }
}

/// Open the device; the second value is a warning when `Auto` fell back.
pub fn open(choice: DeviceChoice) -> Result<(Device, Option<String>)> {
    match choice {
        DeviceChoice::Cpu => Ok((Device::Cpu, None)),
        DeviceChoice::Cuda(n) => {
            if !cfg!(feature = "cuda") {
                return Err(Error::Device {
                    device: format!("cuda:{n}"),
                    message: "this podsift was built without the `cuda` feature (cargo build --release --features cuda)".into(),
                });
            }
            Device::new_cuda(n)
                .map(|d| (d, None))
                .map_err(|e| Error::Device {
                    device: format!("cuda:{n}"),
                    message: e.to_string(),
                })
        }
        DeviceChoice::Metal => {
            if !cfg!(feature = "metal") {
                return Err(Error::Device {
                    device: "metal".into(),
                    message: "this podsift was built without the `metal` feature".into(),
                });
            }
            Device::new_metal(0)
                .map(|d| (d, None))
                .map_err(|e| Error::Device {
                    device: "metal".into(),
                    message: e.to_string(),
                })
        }
        DeviceChoice::Auto => {
            if cfg!(feature = "cuda") {
                match Device::new_cuda(0) {
                    Ok(d) => return Ok((d, None)),
                    Err(e) => {
                        return Ok((
                            Device::Cpu,
                            Some(format!("no CUDA device ({e}); using the CPU")),
                        ))
                    }
                }
            }
            if cfg!(feature = "metal") {
                match Device::new_metal(0) {
                    Ok(d) => return Ok((d, None)),
                    Err(e) => {
                        return Ok((
                            Device::Cpu,
                            Some(format!("no Metal device ({e}); using the CPU")),
                        ))
                    }
                }
            }
            Ok((Device::Cpu, None))
        }
    }
}

/// A short name for a device, for summaries.
pub fn name(d: &Device) -> &'static str {
    match d {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda",
        Device::Metal(_) => "metal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices() {
        assert_eq!(
            "cuda:1".parse::<DeviceChoice>().unwrap(),
            DeviceChoice::Cuda(1)
        );
        assert!("gpu".parse::<DeviceChoice>().is_err());
        let (d, warn) = open(DeviceChoice::Auto).unwrap();
        if !cfg!(any(feature = "cuda", feature = "metal")) {
            assert!(matches!(d, Device::Cpu));
            assert!(warn.is_none());
            let err = open(DeviceChoice::Cuda(0)).unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
    }
}
