"""The HTTP surface: routes and the app's lifespan, which hands each event from one stage to the next."""
