-- A small set of real ZIP codes so theatres can be created and searched out of the box.
-- The full US list is loaded as demo data by the `cinema` CLI.
insert into zip_codes (zip, city, state, county, latitude, longitude) values
    ('02139', 'Cambridge',     'MA', 'Middlesex',   42.3647,  -71.1042),
    ('02115', 'Boston',        'MA', 'Suffolk',     42.3428,  -71.0922),
    ('02144', 'Somerville',    'MA', 'Middlesex',   42.4008,  -71.1222),
    ('10001', 'New York',      'NY', 'New York',    40.7506,  -73.9972),
    ('10019', 'New York',      'NY', 'New York',    40.7651,  -73.9858),
    ('11201', 'Brooklyn',      'NY', 'Kings',       40.6944,  -73.9906),
    ('94103', 'San Francisco', 'CA', 'San Francisco', 37.7725, -122.4147),
    ('94110', 'San Francisco', 'CA', 'San Francisco', 37.7487, -122.4158),
    ('90028', 'Los Angeles',   'CA', 'Los Angeles', 34.1002, -118.3267),
    ('60601', 'Chicago',       'IL', 'Cook',        41.8858,  -87.6181),
    ('98101', 'Seattle',       'WA', 'King',        47.6114, -122.3305),
    ('30303', 'Atlanta',       'GA', 'Fulton',      33.7525,  -84.3888),
    ('78701', 'Austin',        'TX', 'Travis',      30.2713,  -97.7426)
on conflict (zip) do nothing;
