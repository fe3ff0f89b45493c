"""The therapy editor (page, model, chart) and its screenshots."""
