-- Dallinger 12.4.0's tables, as its models make them (scripts/dallinger_schema.py)
CREATE TYPE participant_status AS ENUM ('abandoned', 'approved', 'bad_data', 'did_not_attend', 'missing_notification', 'overrecruited', 'recruiter_submission_started', 'rejected', 'replaced', 'returned', 'screened_out', 'submitted', 'working');

CREATE TYPE transmission_status AS ENUM ('pending', 'received');

CREATE TABLE network (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	max_size INTEGER NOT NULL, 
	"full" BOOLEAN NOT NULL, 
	role VARCHAR(26) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_network_creation_time ON network (creation_time);

CREATE INDEX ix_network_failed ON network (failed);

CREATE INDEX ix_network_full ON network ("full");

CREATE INDEX ix_network_id ON network (id);

CREATE INDEX ix_network_role ON network (role);

CREATE TABLE notification (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	assignment_id VARCHAR NOT NULL, 
	event_type VARCHAR NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_notification_creation_time ON notification (creation_time);

CREATE INDEX ix_notification_failed ON notification (failed);

CREATE INDEX ix_notification_id ON notification (id);

CREATE TABLE participant (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	fingerprint_hash VARCHAR(50), 
	recruiter_id VARCHAR(50), 
	worker_id VARCHAR(50) NOT NULL, 
	assignment_id VARCHAR(50) NOT NULL, 
	unique_id VARCHAR(150) NOT NULL, 
	hit_id VARCHAR(50) NOT NULL, 
	mode VARCHAR(50) NOT NULL, 
	end_time TIMESTAMP WITHOUT TIME ZONE, 
	base_pay FLOAT, 
	bonus FLOAT, 
	entry_information JSONB DEFAULT '{}' NOT NULL, 
	status participant_status NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_participant_assignment_id ON participant (assignment_id);

CREATE INDEX ix_participant_creation_time ON participant (creation_time);

CREATE INDEX ix_participant_failed ON participant (failed);

CREATE INDEX ix_participant_id ON participant (id);

CREATE INDEX ix_participant_status ON participant (status);

CREATE INDEX ix_participant_unique_id ON participant (unique_id);

CREATE TABLE recruitment (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	recruiter_id VARCHAR(50), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_recruitment_creation_time ON recruitment (creation_time);

CREATE INDEX ix_recruitment_failed ON recruitment (failed);

CREATE INDEX ix_recruitment_id ON recruitment (id);

CREATE TABLE node (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	network_id INTEGER, 
	participant_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(network_id) REFERENCES network (id), 
	FOREIGN KEY(participant_id) REFERENCES participant (id)
);

CREATE INDEX ix_node_creation_time ON node (creation_time);

CREATE INDEX ix_node_failed ON node (failed);

CREATE INDEX ix_node_id ON node (id);

CREATE INDEX ix_node_network_id ON node (network_id);

CREATE INDEX ix_node_participant_id ON node (participant_id);

CREATE TABLE question (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	participant_id INTEGER, 
	number INTEGER NOT NULL, 
	question TEXT NOT NULL, 
	response TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(participant_id) REFERENCES participant (id)
);

CREATE INDEX ix_question_creation_time ON question (creation_time);

CREATE INDEX ix_question_failed ON question (failed);

CREATE INDEX ix_question_id ON question (id);

CREATE TABLE info (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	origin_id INTEGER, 
	network_id INTEGER, 
	contents TEXT, 
	complete BOOLEAN, 
	PRIMARY KEY (id), 
	FOREIGN KEY(origin_id) REFERENCES node (id), 
	FOREIGN KEY(network_id) REFERENCES network (id)
);

CREATE INDEX ix_info_creation_time ON info (creation_time);

CREATE INDEX ix_info_failed ON info (failed);

CREATE INDEX ix_info_id ON info (id);

CREATE INDEX ix_info_network_id ON info (network_id);

CREATE INDEX ix_info_origin_id ON info (origin_id);

CREATE TABLE vector (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR DEFAULT 'vector', 
	origin_id INTEGER, 
	destination_id INTEGER, 
	network_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(origin_id) REFERENCES node (id), 
	FOREIGN KEY(destination_id) REFERENCES node (id), 
	FOREIGN KEY(network_id) REFERENCES network (id)
);

CREATE INDEX ix_vector_creation_time ON vector (creation_time);

CREATE INDEX ix_vector_destination_id ON vector (destination_id);

CREATE INDEX ix_vector_failed ON vector (failed);

CREATE INDEX ix_vector_id ON vector (id);

CREATE INDEX ix_vector_network_id ON vector (network_id);

CREATE INDEX ix_vector_origin_id ON vector (origin_id);

CREATE TABLE transformation (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	type VARCHAR, 
	info_in_id INTEGER, 
	info_out_id INTEGER, 
	node_id INTEGER, 
	network_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(info_in_id) REFERENCES info (id), 
	FOREIGN KEY(info_out_id) REFERENCES info (id), 
	FOREIGN KEY(node_id) REFERENCES node (id), 
	FOREIGN KEY(network_id) REFERENCES network (id)
);

CREATE INDEX ix_transformation_creation_time ON transformation (creation_time);

CREATE INDEX ix_transformation_failed ON transformation (failed);

CREATE INDEX ix_transformation_id ON transformation (id);

CREATE INDEX ix_transformation_info_in_id ON transformation (info_in_id);

CREATE INDEX ix_transformation_info_out_id ON transformation (info_out_id);

CREATE INDEX ix_transformation_network_id ON transformation (network_id);

CREATE INDEX ix_transformation_node_id ON transformation (node_id);

CREATE TABLE transmission (
	id SERIAL NOT NULL, 
	creation_time TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	property1 TEXT, 
	property2 TEXT, 
	property3 TEXT, 
	property4 TEXT, 
	property5 TEXT, 
	failed BOOLEAN NOT NULL, 
	failed_reason TEXT, 
	time_of_death TIMESTAMP WITHOUT TIME ZONE, 
	details JSONB DEFAULT '{}' NOT NULL, 
	vector_id INTEGER, 
	info_id INTEGER, 
	origin_id INTEGER, 
	destination_id INTEGER, 
	network_id INTEGER, 
	receive_time TIMESTAMP WITHOUT TIME ZONE, 
	status transmission_status NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(vector_id) REFERENCES vector (id), 
	FOREIGN KEY(info_id) REFERENCES info (id), 
	FOREIGN KEY(origin_id) REFERENCES node (id), 
	FOREIGN KEY(destination_id) REFERENCES node (id), 
	FOREIGN KEY(network_id) REFERENCES network (id)
);

CREATE INDEX ix_transmission_creation_time ON transmission (creation_time);

CREATE INDEX ix_transmission_destination_id ON transmission (destination_id);

CREATE INDEX ix_transmission_failed ON transmission (failed);

CREATE INDEX ix_transmission_id ON transmission (id);

CREATE INDEX ix_transmission_info_id ON transmission (info_id);

CREATE INDEX ix_transmission_network_id ON transmission (network_id);

CREATE INDEX ix_transmission_origin_id ON transmission (origin_id);

CREATE INDEX ix_transmission_status ON transmission (status);

CREATE INDEX ix_transmission_vector_id ON transmission (vector_id);
