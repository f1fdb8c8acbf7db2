"""The MPI runtime: cluster layout, transport, master, worker loop and collectives."""
