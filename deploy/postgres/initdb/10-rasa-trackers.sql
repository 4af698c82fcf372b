-- Rasa's tracker store gets a database of its own (RASA_TRACKER_STORE_URL in compose.yml); the api's,
-- `debtor`, is created by the postgres image from POSTGRES_DB. Run once, when the data volume is empty.
CREATE DATABASE rasa_trackers;
