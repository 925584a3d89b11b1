/*
 * preprocess-check: the leptonica preprocessing the OCR engine applies before
 * tesseract, as a stand-alone program, to check it on the benchmark's pages.
 *
 *   preprocess-check IN OUT.png
 *
 * Grey (luminance) -> upscale to 300 dpi when below 200 -> background
 * normalisation -> deskew, then written as an 8-bit PNG with the resulting
 * resolution.  Prints the skew found ("angle confidence",
 * degrees: negative for a page turned clockwise).
 */
#include <stdio.h>

#include <leptonica/allheaders.h>

/* Read IN, normalise its background, deskew it, write OUT */
int
main(int argc, char **argv)
{
    PIX        *pixs;
    PIX        *pixg;
    PIX        *pixu;
    PIX        *pixn;
    PIX        *pixd;
    l_float32   angle = 0.0f;
    l_float32   conf = 0.0f;
    l_int32     xres, yres;

    if (argc != 3)
    {
        fprintf(stderr, "usage: preprocess-check IN OUT.png\n");
        return 2;
    }
    setMsgSeverity(L_SEVERITY_ERROR);
    pixs = pixRead(argv[1]);
    if (pixs == NULL)
    {
        fprintf(stderr, "preprocess-check: cannot read %s\n", argv[1]);
        return 1;
    }
    pixGetResolution(pixs, &xres, &yres);

    /* 1. grey: colour to luminance, colormaps removed, 1 bit to 0/255 */
    pixg = pixConvertTo8(pixs, FALSE);
    /* 2. small text of a low-resolution scan: bring it to 300 dpi first (on
     * a 75-dpi page, normalising the background without this makes the
     * output worse than none at all) */
    if (xres > 0 && xres < 200)
    {
        l_float32   scale = 300.0f / (l_float32) xres;

        pixu = pixScaleGrayLI(pixg, scale, scale);
        xres = yres = 300;
    }
    else
        pixu = pixClone(pixg);
    /* 3. even out the paper (shadows, stains) to white: tiles of 10 x 15
     * pixels, foreground below 60, at least 40 background pixels a tile,
     * background mapped to 255, smoothing 2 x 1 tiles */
    pixn = pixBackgroundNorm(pixu, NULL, NULL, 10, 15, 60, 40, 255, 2, 1);
    /* 4. find the skew on a 1-bit copy (threshold 130) by a sweep of +-7
     * degrees in 1-degree steps at 4x reduction, refined by binary search at
     * 2x, and rotate the grey image back with white brought in (leptonica's
     * defaults; it rotates only when the confidence is >= 3 and the angle
     * >= 0.1 degree.  A finer sweep, 0.2-degree steps, lowers the confidence
     * it reports 4-5x and leaves a 4-degree list page unrotated) */
    pixd = pixDeskewGeneral(pixn, 4, 7.0f, 1.0f, 2, 130, &angle, &conf);
    pixSetResolution(pixd, xres, yres);
    printf("%.2f %.2f\n", angle, conf);
    if (pixWrite(argv[2], pixd, IFF_PNG) != 0)
    {
        fprintf(stderr, "preprocess-check: cannot write %s\n", argv[2]);
        return 1;
    }
    pixDestroy(&pixs);
    pixDestroy(&pixg);
    pixDestroy(&pixu);
    pixDestroy(&pixn);
    pixDestroy(&pixd);
    return 0;
}
