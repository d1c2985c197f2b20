"""smlab host tools: a library for SMETS2 bench work (keys, GBCS commands, codes, the hand-held
terminal, boards and campaigns) with a thin command line in host_tools.cli."""
