"""FHIR R4 export of a visit for the clinic's EHR (docs/clinic.md)."""
