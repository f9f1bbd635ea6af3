"""Domain contracts: events, codes and territory reference data. Pure: no I/O."""
