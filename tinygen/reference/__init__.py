"""The numpy reference of the lowered graph: the specification every C kernel must match."""
