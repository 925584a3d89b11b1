/*
 * degrade: turn clean rendered text pages (text2image's 1-bit TIFF) into
 * realistic scans for the OCR benchmark and the sample fixtures.
 *
 *   degrade [options] -o OUT IN...
 *
 *   -c MARGIN   crop to the text plus MARGIN pixels of paper (before rotating)
 *   -a DEG      rotate clockwise by DEG degrees, bringing in white paper
 *   -s KIND     shadow: none, left, right, top, bottom or corner (top left)
 *   -S DEPTH    darkness of the shadow at its darkest, 0..1 (default 0.6)
 *   -W WIDTH    how far the shadow reaches, a fraction of the page (0.35)
 *   -p PAPER    paper grey level (default 236)
 *   -k INK      ink grey level (default 40)
 *   -b RADIUS   box blur radius in pixels before the noise (default 1; 0: none)
 *   -n SIGMA    Gaussian noise, grey levels (default 6)
 *   -r DPI      downscale to DPI (from the source resolution, -R)
 *   -R DPI      resolution of the input (default 300)
 *   -q QUALITY  JPEG quality (default 80)
 *   -l LEVELS   quantise to LEVELS evenly spaced grey levels (smaller PNGs)
 *   -1          write 1 bit per pixel (thresholded at 128; TIFF: G4)
 *   -x SEED     noise seed (default 1)
 *
 * OUT's extension picks the format: .png (8-bit grey), .jpg or .tif; several
 * inputs make a multipage TIFF.  Deterministic: the same options, inputs and
 * seed give the same pixels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <leptonica/allheaders.h>

typedef struct Options
{
    int         margin;
    double      angle;
    const char *shadow;
    double      depth;
    double      reach;
    int         paper;
    int         ink;
    int         blur;
    double      sigma;
    int         dpi;
    int         src_dpi;
    int         quality;
    int         levels;
    int         binary;
    unsigned long long seed;
} Options;

static unsigned long long rng_state;

/* Next value of a xorshift64* generator, uniform in (0, 1) */
static double
rng_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return ((double) ((rng_state * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
}

/* A standard normal deviate (Box-Muller) */
static double
rng_normal(void)
{
    double      u = rng_uniform();
    double      v = rng_uniform();

    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Print the usage and exit with status 2 */
static void
usage(void)
{
    fprintf(stderr,
            "usage: degrade [-c margin] [-a deg] [-s none|left|right|top|bottom|corner] [-S depth]\n"
            "               [-W reach] [-p paper] [-k ink] [-b radius] [-n sigma] [-r dpi] [-R dpi]\n"
            "               [-q quality] [-l levels] [-1] [-x seed] -o OUT IN...\n");
    exit(2);
}

/* Shadow factor (1: no shadow) at pixel x, y of a w x h page */
static double
shadow_factor(const Options *o, int x, int y, int w, int h)
{
    double      d;              /* distance from the dark edge, in page fractions */
    double      t;

    if (strcmp(o->shadow, "left") == 0)
        d = (double) x / w;
    else if (strcmp(o->shadow, "right") == 0)
        d = (double) (w - 1 - x) / w;
    else if (strcmp(o->shadow, "top") == 0)
        d = (double) y / h;
    else if (strcmp(o->shadow, "bottom") == 0)
        d = (double) (h - 1 - y) / h;
    else if (strcmp(o->shadow, "corner") == 0)
        d = sqrt(((double) x / w) * ((double) x / w) + ((double) y / h) * ((double) y / h)) / M_SQRT2 * 1.6;
    else
        return 1.0;
    if (d >= o->reach)
        return 1.0;
    /* smooth fall-off: darkest at the edge, none at the reach */
    t = 1.0 - d / o->reach;
    return 1.0 - o->depth * t * t * (3.0 - 2.0 * t);
}

/* Degrade one clean page; returns a new 8-bit (or 1-bit) image */
static PIX *
degrade_page(const Options *o, PIX *clean)
{
    PIX        *pix1;
    PIX        *pix8;
    PIX        *pix;
    l_uint32   *data;
    int         w, h, wpl, x, y;

    pix1 = pixConvertTo1(clean, 128);
    if (pix1 == NULL)
        return NULL;
    if (o->margin >= 0)
    {
        PIX        *fg = NULL;
        BOX        *box = NULL;

        if (pixClipToForeground(pix1, &fg, &box) == 0 && fg != NULL)
        {
            PIX        *bordered = pixAddBorderGeneral(fg, o->margin, o->margin, o->margin, o->margin, 0);

            pixDestroy(&pix1);
            pix1 = bordered;
        }
        pixDestroy(&fg);
        boxDestroy(&box);
    }

    /* ink on paper, slightly blurred like a scanner's optics */
    pix8 = pixConvertTo8(pix1, 0);
    pixDestroy(&pix1);
    pixInvert(pix8, pix8);      /* 0: paper, 255: ink */
    pix = pixCreate(pixGetWidth(pix8), pixGetHeight(pix8), 8);
    w = pixGetWidth(pix8);
    h = pixGetHeight(pix8);
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
        {
            l_uint32    v;

            pixGetPixel(pix8, x, y, &v);
            pixSetPixel(pix, x, y, (l_uint32) (o->paper - (o->paper - o->ink) * (double) v / 255.0 + 0.5));
        }
    pixDestroy(&pix8);
    if (o->blur > 0)
    {
        pix8 = pixBlockconvGray(pix, NULL, o->blur, o->blur);
        pixDestroy(&pix);
        pix = pix8;
    }

    /* leptonica's positive angles turn the image clockwise */
    if (o->angle != 0.0)
    {
        pix8 = pixRotate(pix, (l_float32) (o->angle * M_PI / 180.0), L_ROTATE_AREA_MAP,
                         L_BRING_IN_WHITE, 0, 0);
        pixDestroy(&pix);
        /* the white brought in is 255; make it paper */
        pix = pix8;
        w = pixGetWidth(pix);
        h = pixGetHeight(pix);
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++)
            {
                l_uint32    v;

                pixGetPixel(pix, x, y, &v);
                if ((int) v > o->paper)
                    pixSetPixel(pix, x, y, (l_uint32) o->paper);
            }
    }

    if (o->dpi > 0 && o->dpi < o->src_dpi)
    {
        float       scale = (float) o->dpi / (float) o->src_dpi;

        pix8 = pixScaleAreaMap(pix, scale, scale);
        pixDestroy(&pix);
        pix = pix8;
    }

    /* shadow and noise, pixel by pixel */
    w = pixGetWidth(pix);
    h = pixGetHeight(pix);
    wpl = pixGetWpl(pix);
    data = pixGetData(pix);
    for (y = 0; y < h; y++)
    {
        l_uint32   *line = data + y * wpl;

        for (x = 0; x < w; x++)
        {
            double      v = GET_DATA_BYTE(line, x);

            v = v * shadow_factor(o, x, y, w, h);
            if (o->sigma > 0)
                v += o->sigma * rng_normal();
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            if (o->levels > 1)
            {
                double      step = 255.0 / (o->levels - 1);

                v = floor(v / step + 0.5) * step;
            }
            SET_DATA_BYTE(line, x, (l_int32) (v + 0.5));
        }
    }

    if (o->binary)
    {
        pix8 = pixThresholdToBinary(pix, 128);
        pixDestroy(&pix);
        pix = pix8;
    }
    pixSetResolution(pix, o->dpi > 0 ? o->dpi : o->src_dpi, o->dpi > 0 ? o->dpi : o->src_dpi);
    return pix;
}

/* Does name end with suffix (case-insensitive)? */
static int
ends_with(const char *name, const char *suffix)
{
    size_t      n = strlen(name);
    size_t      m = strlen(suffix);

    return n >= m && strcasecmp(name + n - m, suffix) == 0;
}

/* Write one page to out (append: the next page of a TIFF) */
static int
write_page(const Options *o, const char *out, PIX *pix, int append)
{
    if (ends_with(out, ".png"))
        return pixWrite(out, pix, IFF_PNG);
    if (ends_with(out, ".jpg") || ends_with(out, ".jpeg"))
        return pixWriteJpeg(out, pix, o->quality, 0);
    if (ends_with(out, ".tif") || ends_with(out, ".tiff"))
        return pixWriteTiff(out, pix, pixGetDepth(pix) == 1 ? IFF_TIFF_G4 : IFF_TIFF_ZIP,
                            append ? "a" : "w");
    fprintf(stderr, "degrade: %s: unknown format (.png, .jpg, .tif)\n", out);
    return 1;
}

/* Parse the options, degrade every input, write the output */
int
main(int argc, char **argv)
{
    Options     o = {-1, 0.0, "none", 0.6, 0.35, 236, 40, 1, 6.0, 0, 300, 80, 0, 0, 1};
    const char *out = NULL;
    int         opt, i;

    while ((opt = getopt(argc, argv, "c:a:s:S:W:p:k:b:n:r:R:q:l:1x:o:")) != -1)
    {
        switch (opt)
        {
            case 'c': o.margin = atoi(optarg); break;
            case 'a': o.angle = atof(optarg); break;
            case 's': o.shadow = optarg; break;
            case 'S': o.depth = atof(optarg); break;
            case 'W': o.reach = atof(optarg); break;
            case 'p': o.paper = atoi(optarg); break;
            case 'k': o.ink = atoi(optarg); break;
            case 'b': o.blur = atoi(optarg); break;
            case 'n': o.sigma = atof(optarg); break;
            case 'r': o.dpi = atoi(optarg); break;
            case 'R': o.src_dpi = atoi(optarg); break;
            case 'q': o.quality = atoi(optarg); break;
            case 'l': o.levels = atoi(optarg); break;
            case '1': o.binary = 1; break;
            case 'x': o.seed = strtoull(optarg, NULL, 10); break;
            case 'o': out = optarg; break;
            default: usage();
        }
    }
    if (out == NULL || optind >= argc)
        usage();
    if (argc - optind > 1 && !ends_with(out, ".tif") && !ends_with(out, ".tiff"))
    {
        fprintf(stderr, "degrade: several pages need a .tif output\n");
        return 2;
    }
    setMsgSeverity(L_SEVERITY_ERROR);
    rng_state = o.seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    if (rng_state == 0)
        rng_state = 1;
    for (i = optind; i < argc; i++)
    {
        PIX        *clean = pixRead(argv[i]);
        PIX        *page;

        if (clean == NULL)
        {
            fprintf(stderr, "degrade: cannot read %s\n", argv[i]);
            return 1;
        }
        page = degrade_page(&o, clean);
        pixDestroy(&clean);
        if (page == NULL || write_page(&o, out, page, i > optind) != 0)
        {
            fprintf(stderr, "degrade: cannot write %s\n", out);
            return 1;
        }
        pixDestroy(&page);
    }
    return 0;
}
