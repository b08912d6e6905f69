/* Tests for common/geo.c. Expected distances are for the city coordinates
 * below on a sphere of radius 6371.0088 km, computed by a separate haversine
 * implementation (Python's math module) and, for the meridian, equator and
 * antipode cases, analytically (pi * R / 180 per degree, pi * R end to end);
 * the tolerance is 1 km. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "geo.h"

struct city {
    double lat, lon;
};

/* Approximate city-centre coordinates. */
static const struct city ashburn = { 39.0438, -77.4874 };
static const struct city columbus = { 39.9612, -82.9988 };
static const struct city frankfurt = { 50.1109, 8.6821 };
static const struct city paris = { 48.8566, 2.3522 };
static const struct city tokyo = { 35.6762, 139.6503 };
static const struct city osaka = { 34.6937, 135.5023 };
static const struct city stockholm = { 59.3293, 18.0686 };
static const struct city suva = { -18.1248, 178.4501 };
static const struct city apia = { -13.8333, -171.7667 };

#define HALF_CIRCUMFERENCE_KM (3.14159265358979323846 * MPIC_EARTH_RADIUS_KM)

static void expect_km(struct city a, struct city b, double want)
{
    double got = mpic_geo_distance_km(a.lat, a.lon, b.lat, b.lon);
    if (fabs(got - want) > 1.0)
        fail_msg("(%g, %g) to (%g, %g): %.2f km, expected %.2f km", a.lat, a.lon, b.lat, b.lon, got, want);
    /* Distance does not depend on the direction of travel. */
    double back = mpic_geo_distance_km(b.lat, b.lon, a.lat, a.lon);
    if (fabs(back - got) > 1e-6)
        fail_msg("not symmetric: %.6f km one way, %.6f km back", got, back);
}

static void ashburn_columbus_is_under_500_km(void **state)
{
    (void)state;
    /* AWS us-east-1 and us-east-2: one perspective under BR 3.2.2.9. */
    expect_km(ashburn, columbus, 483.66);
    assert_true(mpic_geo_distance_km(ashburn.lat, ashburn.lon, columbus.lat, columbus.lon) < MPIC_DISTINCT_KM);
}

static void frankfurt_paris_is_under_500_km(void **state)
{
    (void)state;
    expect_km(frankfurt, paris, 477.89);
}

static void tokyo_osaka_is_under_500_km(void **state)
{
    (void)state;
    expect_km(tokyo, osaka, 392.44);
}

static void frankfurt_stockholm_is_distinct(void **state)
{
    (void)state;
    expect_km(frankfurt, stockholm, 1186.63);
    assert_true(mpic_geo_distance_km(frankfurt.lat, frankfurt.lon, stockholm.lat, stockholm.lon) >= MPIC_DISTINCT_KM);
}

static void same_point_is_zero(void **state)
{
    (void)state;
    assert_true(mpic_geo_distance_km(tokyo.lat, tokyo.lon, tokyo.lat, tokyo.lon) == 0.0);
    assert_true(mpic_geo_distance_km(90, 0, 90, 123) < 1e-9);   /* every longitude meets at the pole */
}

static void antipodes_are_half_the_circumference(void **state)
{
    (void)state;
    struct city a = { 10, 20 }, b = { -10, -160 };
    struct city north = { 90, 0 }, south = { -90, 0 };
    expect_km(a, b, HALF_CIRCUMFERENCE_KM);   /* 20015.11 km */
    expect_km(north, south, HALF_CIRCUMFERENCE_KM);
    double d = mpic_geo_distance_km(a.lat, a.lon, b.lat, b.lon);
    assert_false(isnan(d));
}

static void one_degree_on_meridian_and_equator(void **state)
{
    (void)state;
    struct city e0 = { 0, 0 }, e1 = { 0, 1 }, m1 = { 1, 0 };
    double deg = HALF_CIRCUMFERENCE_KM / 180.0;   /* 111.195 km */
    expect_km(e0, e1, deg);
    expect_km(e0, m1, deg);
}

static void across_the_antimeridian_is_the_short_way(void **state)
{
    (void)state;
    /* 179.5 E to 179.5 W is one degree of longitude, not 359. */
    struct city west = { 0, 179.5 }, east = { 0, -179.5 };
    expect_km(west, east, HALF_CIRCUMFERENCE_KM / 180.0);
    /* Suva (Fiji) to Apia (Samoa) straddle it too. */
    expect_km(suva, apia, 1149.17);
}

static void coordinate_ranges_checked(void **state)
{
    (void)state;
    assert_true(mpic_geo_valid(0, 0));
    assert_true(mpic_geo_valid(90, 180));
    assert_true(mpic_geo_valid(-90, -180));
    assert_false(mpic_geo_valid(90.0001, 0));
    assert_false(mpic_geo_valid(-91, 0));
    assert_false(mpic_geo_valid(0, 180.5));
    assert_false(mpic_geo_valid(0, -181));
    assert_false(mpic_geo_valid(NAN, 0));
    assert_false(mpic_geo_valid(0, NAN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ashburn_columbus_is_under_500_km),
        cmocka_unit_test(frankfurt_paris_is_under_500_km),
        cmocka_unit_test(tokyo_osaka_is_under_500_km),
        cmocka_unit_test(frankfurt_stockholm_is_distinct),
        cmocka_unit_test(same_point_is_zero),
        cmocka_unit_test(antipodes_are_half_the_circumference),
        cmocka_unit_test(one_degree_on_meridian_and_equator),
        cmocka_unit_test(across_the_antimeridian_is_the_short_way),
        cmocka_unit_test(coordinate_ranges_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
