/* Haversine distance on a sphere of the mean Earth radius. Haversine rather
 * than the spherical law of cosines because it stays exact for points a few
 * kilometres apart, where acos() of a value next to 1 loses most digits; at
 * the antipodes rounding can push the haversine a hair above 1, so it is
 * clamped before asin(). */
#include "geo.h"

#include <math.h>

/* M_PI is not C11. */
#define DEG_TO_RAD (3.14159265358979323846 / 180.0)

static double radians(double deg)
{
    return deg * DEG_TO_RAD;
}

double mpic_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double phi1 = radians(lat1), phi2 = radians(lat2);
    double dphi = radians(lat2 - lat1), dlambda = radians(lon2 - lon1);
    double s_phi = sin(dphi / 2.0), s_lambda = sin(dlambda / 2.0);
    double h = s_phi * s_phi + cos(phi1) * cos(phi2) * s_lambda * s_lambda;
    if (h > 1.0)
        h = 1.0;
    if (h < 0.0)
        h = 0.0;
    return 2.0 * MPIC_EARTH_RADIUS_KM * asin(sqrt(h));
}

bool mpic_geo_valid(double lat, double lon)
{
    /* Written so that NaN fails every comparison and is refused. */
    return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}
