-- Reference data of the territory: communes, facilities with their care units, stations.
-- Loaded by `synopse db seed` (the default territory ships with the code); another territory
-- loads its own rows into the same tables.

CREATE TABLE IF NOT EXISTS communes (
    code        text PRIMARY KEY,                 -- INSEE commune code
    name        text NOT NULL,
    population  integer NOT NULL CHECK (population >= 0),
    latitude    double precision NOT NULL,
    longitude   double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS facilities (
    facility_id               text PRIMARY KEY,
    name                      text NOT NULL,
    commune_code              text NOT NULL REFERENCES communes (code),
    latitude                  double precision NOT NULL,
    longitude                 double precision NOT NULL,
    has_emergency_department  boolean NOT NULL DEFAULT false,
    synthetic_capacity        boolean NOT NULL DEFAULT true   -- capacities are not the establishment's own
);

CREATE TABLE IF NOT EXISTS facility_units (
    facility_id  text NOT NULL REFERENCES facilities (facility_id) ON DELETE CASCADE,
    care_unit    text NOT NULL,
    beds         integer NOT NULL CHECK (beds >= 0),   -- planned capacity; live capacity comes from bed snapshots
    PRIMARY KEY (facility_id, care_unit)
);

CREATE TABLE IF NOT EXISTS stations (
    station_id    text PRIMARY KEY,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('weather', 'air_quality', 'pollen', 'wastewater')),
    commune_code  text NOT NULL REFERENCES communes (code),
    latitude      double precision NOT NULL,
    longitude     double precision NOT NULL,
    indicators    text[] NOT NULL DEFAULT '{}',
    synthetic     boolean NOT NULL DEFAULT false
);
