"""The pump session: the operations a visit is made of, on top of the link, the dose
engine and the store. Each operation returns a result that says what changed."""
