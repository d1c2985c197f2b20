"""Role-independent GBCS secure core: trust state, authentication, dispatch, response protection."""
