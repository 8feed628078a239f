/**
 * @file resumate.h
 * @brief Umbrella header: include this one to use libresumate.
 */
#ifndef RESUMATE_H
#define RESUMATE_H

#include "common.h"
#include "errors.h"
#include "fields.h"
#include "list.h"
#include "ctx.h"
#include "storage.h"
#include "copy.h"
#include "user.h"
#include "resume.h"
#include "application.h"
#include "ai_model.h"
#include "transport.h"
#include "ai.h"
#include "token.h"

#endif
