//! The kernel's forms: one WGSL source (shaders/sha256d.wgsl) with Σ, σ
//! and Ch written in more than one way by build.rs. What one GPU compiler
//! makes into the fewest instructions another makes into the most, so
//! calibration times each form on the device and keeps the fastest,
//! starting from the form the device's compiler is known to want.

use std::fmt;
use std::str::FromStr;

/// One way of writing the kernel's rotates (the rounds are the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KernelForm {
    /// Rotates by constants: `(x >> 6u) | (x << 26u)`. What Apple's
    /// compiler (and any compiler with a constant-rotate rule) wants.
    ConstantRotates,
    /// Rotates by amounts read from the uniform, which the compiler cannot
    /// fold: AMD's ACO and NVIDIA's NAK then emit one funnel shift
    /// (`v_alignbit_b32`, `shf`) per rotate instead of two shifts and an or.
    RotationAmounts,
}

impl KernelForm {
    /// Every form, in the order calibration lists them.
    pub const ALL: [KernelForm; 2] = [KernelForm::ConstantRotates, KernelForm::RotationAmounts];

    /// The form's name, as `--kernel-form` takes it.
    pub fn name(self) -> &'static str {
        match self {
            KernelForm::ConstantRotates => "constant-rotates",
            KernelForm::RotationAmounts => "rotation-amounts",
        }
    }

    /// The form's WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            KernelForm::ConstantRotates => super::shader::SHADER_SOURCE,
            KernelForm::RotationAmounts => {
                include_str!(concat!(env!("OUT_DIR"), "/sha256d-rotation-amounts.wgsl"))
            }
        }
    }

    /// The form a device's compiler is known to want, before it is measured:
    /// from the adapter's PCI vendor and driver name. AMD (every Linux
    /// driver compiles with ACO or LLVM, both of which take the amounts
    /// form to within a few percent of the minimum) and NVIDIA's open
    /// driver (NVK, whose NAK compiler does the same) start from the
    /// rotation amounts; Apple's compiler, and the drivers that cannot be
    /// examined without their hardware, start from constant rotates. This
    /// is only where calibration starts: it measures every form.
    pub fn preferred(vendor: u32, driver: &str) -> KernelForm {
        const AMD: u32 = 0x1002;
        const NVIDIA: u32 = 0x10de;
        let driver = driver.to_ascii_lowercase();
        if vendor == AMD || (vendor == NVIDIA && driver.contains("nvk")) {
            KernelForm::RotationAmounts
        } else {
            KernelForm::ConstantRotates
        }
    }

    /// [`preferred`](Self::preferred) for the adapter wgpu describes.
    pub fn preferred_for(info: &wgpu::AdapterInfo) -> KernelForm {
        KernelForm::preferred(info.vendor, &info.driver)
    }
}

impl fmt::Display for KernelForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A kernel form name that is not one of [`KernelForm::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel form {0:?} (known: constant-rotates, rotation-amounts)")]
pub struct UnknownKernelForm(pub String);

impl FromStr for KernelForm {
    type Err = UnknownKernelForm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KernelForm::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownKernelForm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for form in KernelForm::ALL {
            assert_eq!(form.name().parse::<KernelForm>(), Ok(form));
        }
        let e = "fast".parse::<KernelForm>().unwrap_err();
        assert!(e.to_string().contains("constant-rotates"), "{e}");
    }

    #[test]
    fn the_forms_differ_in_their_rotates_and_the_first_generic_block() {
        let [constant, amounts] = KernelForm::ALL.map(KernelForm::source);
        assert!(constant.contains("rotr(x, 2u)") && !constant.contains("rot0"));
        assert!(amounts.contains("rotr(x, rot0.x)") && !amounts.contains("rotr(x, 2u)"));
        // Only the amounts form compresses the nonce's block with the
        // host's sums of its job words.
        assert!(amounts.contains("compress_block(state, m)") && amounts.contains("gp.pairs["));
        assert!(!constant.contains("compress_block(state, m)") && !constant.contains("gp.pairs["));
        // The rounds themselves are the same text.
        let strip = |s: &str| {
            let from = s.find("fn header_e60").unwrap();
            s[from..from + s[from..].find("fn job_word").unwrap()]
                .lines()
                .filter(|l| !l.trim_start().starts_with("rot"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(constant), strip(amounts));
    }

    #[test]
    fn amd_and_nvk_start_from_the_amounts_and_apple_from_constants() {
        assert_eq!(
            KernelForm::preferred(0x1002, "radv"),
            KernelForm::RotationAmounts
        );
        assert_eq!(
            KernelForm::preferred(0x10de, "NVK"),
            KernelForm::RotationAmounts
        );
        assert_eq!(
            KernelForm::preferred(0x10de, "NVIDIA"),
            KernelForm::ConstantRotates
        );
        assert_eq!(
            KernelForm::preferred(0x106b, "Apple"),
            KernelForm::ConstantRotates
        );
    }
}
