/* Great-circle distances between perspectives, resolvers and the primary
 * (BR 3.2.2.9: two network perspectives are distinct when they are at least
 * 500 km apart; the BR says "straight-line distance", which on a globe we read
 * as the shortest surface path, the great circle). */
#ifndef MPIC_GEO_H
#define MPIC_GEO_H

#include <stdbool.h>

/* Mean Earth radius (IUGG R1). The sphere is within about 0.5 % of the
 * ellipsoid everywhere, some 2.5 km at 500 km: far below the precision of a
 * configured city location. */
#define MPIC_EARTH_RADIUS_KM 6371.0088

/* BR 3.2.2.9: perspectives (and resolvers) closer than this count as one. */
#define MPIC_DISTINCT_KM 500

/* Degrees in, kilometres out. Latitudes -90..90, longitudes -180..180 (any
 * longitude works: the formula is periodic, so pairs across the antimeridian
 * come out right). */
double mpic_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* Whether lat is in -90..90 and lon in -180..180 (NaN is not). */
bool mpic_geo_valid(double lat, double lon);

#endif
