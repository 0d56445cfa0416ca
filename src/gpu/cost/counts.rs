//! Integer operations by kind, the unit every count of the report is in.

/// Integer operations by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Additions and subtractions.
    pub add: u32,
    /// And, or, xor, not.
    pub logic: u32,
    /// Shifts (a rotate is two shifts and an or in SPIR-V, which has none).
    pub shift: u32,
    /// Integer comparisons and boolean logic.
    pub compare: u32,
    /// Other arithmetic: select, multiply, min/max, bit-field operations.
    pub other: u32,
    /// Loads, stores, access chains and composite construction and
    /// extraction: data movement that a driver mostly turns into registers.
    pub data: u32,
    /// Branches and phis.
    pub control: u32,
    /// Atomic operations.
    pub atomic: u32,
}

impl OpCounts {
    /// Additions, logic and shifts: the work of SHA-256 itself.
    pub fn alu(&self) -> u32 {
        self.add + self.logic + self.shift
    }

    /// Every counted operation.
    pub fn total(&self) -> u32 {
        self.alu() + self.compare + self.other + self.data + self.control + self.atomic
    }

    pub(super) fn add_all(&mut self, other: &OpCounts) {
        self.add += other.add;
        self.logic += other.logic;
        self.shift += other.shift;
        self.compare += other.compare;
        self.other += other.other;
        self.data += other.data;
        self.control += other.control;
        self.atomic += other.atomic;
    }

    /// Counts one SPIR-V instruction, if it is an operation: labels, merge
    /// annotations, declarations, calls and returns are not (they are gone
    /// once a driver inlines the functions).
    pub(super) fn count(&mut self, opcode: u32) {
        let slot = match opcode {
            128 | 130 => &mut self.add,
            197..=200 => &mut self.logic,
            194..=196 => &mut self.shift,
            164..=168 | 170..=179 => &mut self.compare,
            12 | 124 | 126 | 132..=141 | 169 | 201..=205 => &mut self.other,
            59 | 61 | 62 | 65 | 66 | 80..=83 => &mut self.data,
            245 | 249..=251 => &mut self.control,
            op if is_atomic(op) => &mut self.atomic,
            _ => return,
        };
        *slot += 1;
    }
}

/// OpAtomicLoad ..= OpAtomicXor.
pub(super) fn is_atomic(opcode: u32) -> bool {
    (227..=242).contains(&opcode)
}
